import { describe, expect, it } from 'vitest'
import { createMemorySpool } from './memory-spool.js'
import { runSpoolSuite } from './spool.case.js'
import { newJob } from './spool-fixtures.js'

runSpoolSuite('memory spool', async () => ({ spool: createMemorySpool() }))

describe('memory spool at scale', () => {
  it('moves 200k jobs through enqueue, lease and complete without slowing down', async () => {
    const spool = createMemorySpool()
    const count = 200_000
    const jobs = Array.from({ length: count }, (_, i) => newJob({ orderKey: i % 3 === 0 ? `k${i % 100}` : null }))
    const started = performance.now()
    await spool.enqueue(jobs)
    let done = 0
    while (done < count) {
      const leased = spool.lease(500, Date.now())
      expect(leased.length).toBeGreaterThan(0)
      for (const job of leased) spool.complete(job.id)
      done += leased.length
    }
    console.log(
      `memory spool: ${Math.round(count / ((performance.now() - started) / 1000))} jobs/s enqueue+lease+complete`,
    )
    expect(spool.stats(Date.now())).toEqual({
      depth: 0,
      bytes: 0,
      leased: 0,
      deadLetters: 0,
      retrying: 0,
      oldestAgeMs: 0,
    })
    await spool.close()
  })
})
