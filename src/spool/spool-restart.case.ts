// What a durable spool keeps across close and reopen. Part of runSpoolSuite (spool.case.ts); skipped for spools
// opened without `reopen`.
import { expect, it } from 'vitest'
import type { SuiteContext } from './spool.case.js'
import { failed, ids, newJob } from './spool-fixtures.js'

const HOUR = 3_600_000

export function runRestartCases(ctx: SuiteContext): void {
  /** The restart function, or skips the test for a volatile spool. */
  function restartable(skip: () => void): () => Promise<unknown> {
    if (ctx.restart === undefined) skip()
    return ctx.restart!
  }

  it('keeps pending jobs across a restart, byte for byte, and forgets completed ones', async ({ skip }) => {
    const restart = restartable(skip)
    const kept = newJob({ payload: Buffer.from([0, 1, 2, 255]) })
    kept.message.properties = { responseTopic: 'replies/1' }
    const done = newJob()
    await ctx.spool.enqueue([kept, done])
    const leased = ctx.spool.lease(10, Date.now())
    ctx.spool.complete(done.id)
    await restart()
    const after = ctx.spool.lease(10, Date.now())
    expect(after).toEqual([{ ...leased[0] }])
    expect(after[0]).toMatchObject(kept)
    expect(ctx.spool.stats(Date.now())).toMatchObject({
      depth: 1,
      bytes: 4 + kept.request.body.length + 'content-typeapplication/json'.length,
    })
  })

  it('makes a job leased but not completed before close pending again', async ({ skip }) => {
    const restart = restartable(skip)
    const job = newJob()
    await ctx.spool.enqueue([job])
    expect(ctx.spool.lease(10, Date.now())).toHaveLength(1)
    await restart()
    expect(ctx.spool.stats(Date.now())).toMatchObject({ depth: 1, leased: 0 })
    expect(ids(ctx.spool.lease(10, Date.now()))).toEqual([job.id])
  })

  it('keeps retry state and per-key order across a restart', async ({ skip }) => {
    const restart = restartable(skip)
    const keyed = [newJob({ orderKey: 'k' }), newJob({ orderKey: 'k' }), newJob({ orderKey: 'k' })]
    const other = newJob({ orderKey: 'other' })
    await ctx.spool.enqueue([keyed[0], other])
    await ctx.spool.enqueue(keyed.slice(1))
    ctx.spool.lease(10, Date.now())
    const notBefore = Date.now() + HOUR
    const attempt = failed(502)
    ctx.spool.retry(keyed[0].id, notBefore, attempt)
    await restart()
    expect(ids(ctx.spool.lease(10, Date.now()))).toEqual([other.id])
    ctx.spool.complete(other.id)
    expect(ctx.spool.nextDueAt()).toBe(notBefore)
    expect(ctx.spool.lease(10, notBefore)).toMatchObject([{ id: keyed[0].id, attempts: 1, history: [attempt] }])
    for (const job of keyed) {
      await restart()
      expect(ids(ctx.spool.lease(10, notBefore))).toEqual([job.id])
      ctx.spool.complete(job.id)
    }
  })

  it('keeps dead letters, replays and purges across a restart', async ({ skip }) => {
    const restart = restartable(skip)
    const jobs = [newJob({ payload: Buffer.from([9, 0, 9]) }), newJob(), newJob()]
    await ctx.spool.enqueue(jobs)
    ctx.spool.lease(10, Date.now())
    for (const job of jobs) ctx.spool.deadLetter(job.id, failed(410), 'HOOKBRIDGE_DELIVERY_STATUS')
    await restart()
    expect(ctx.spool.stats(Date.now())).toMatchObject({ depth: 0, deadLetters: 3 })
    const dead = ctx.spool.getDeadLetter(jobs[0].id)!
    expect(dead).toMatchObject({ ...jobs[0], attempts: 1, reason: 'HOOKBRIDGE_DELIVERY_STATUS' })
    expect(dead.message.payload.equals(Buffer.from([9, 0, 9]))).toBe(true)
    expect(ctx.spool.replayDeadLetters([jobs[0].id])).toBe(1)
    expect(ctx.spool.purgeDeadLetters([jobs[1].id])).toBe(1)
    await restart()
    expect(ids(ctx.spool.listDeadLetters())).toEqual([jobs[2].id])
    expect(ctx.spool.stats(Date.now())).toMatchObject({ depth: 1, deadLetters: 1 })
    expect(ctx.spool.lease(10, Date.now())).toMatchObject([{ id: jobs[0].id, attempts: 0 }])
  })
}
