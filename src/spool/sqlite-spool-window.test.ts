// The durable spool's window: at most `windowJobs` pending jobs in memory, the newer ones only in the file
// ("spilled") until the window drains. Every Spool promise must hold across that boundary.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { HISTORY_LIMIT, type Job, type NewJob, type Spool } from './spool.js'
import { failed, ids, newJob } from './spool-fixtures.js'
import { createSqliteSpool } from './sqlite-spool.js'

const dir = mkdtempSync(join(tmpdir(), 'hookbridge-spool-window-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const newFile = () => join(dir, `spool-${++files}.db`)
const HOUR = 3_600_000

/** Leases up to `limit` at a time and completes everything, until nothing is left: the jobs in lease order. */
function drain(spool: Spool, limit = 3, now = Date.now()): Job[] {
  const out: Job[] = []
  for (let leased = spool.lease(limit, now); leased.length > 0; leased = spool.lease(limit, now)) {
    const keys = leased.filter((job) => job.orderKey !== null).map((job) => `${job.rule}/${job.orderKey}`)
    expect(new Set(keys).size).toBe(keys.length) // one job per key at a time
    for (const job of leased) spool.complete(job.id)
    out.push(...leased)
  }
  return out
}

const bytesOf = (job: NewJob) =>
  job.message.payload.length +
  job.request.body.length +
  Object.entries(job.request.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0)

describe('sqlite spool with a window of 5 jobs', () => {
  const open: Spool[] = []
  const openSpool = (file = newFile(), windowJobs = 5) => {
    const spool = createSqliteSpool({ file, windowJobs })
    open.push(spool)
    return spool
  }
  afterEach(async () => {
    for (const spool of open.splice(0)) await spool.close()
  })

  it('delivers spilled jobs oldest first, and a key never overtakes an older job of its own', async () => {
    const spool = openSpool()
    const keys = ['a', 'b', null, 'a', 'a', null, 'b', 'a', null, 'c', 'a', 'b', 'a', null, 'a', 'c', 'a']
    const jobs = keys.map((orderKey) => newJob({ orderKey }))
    await spool.enqueue(jobs.slice(0, 4))
    await spool.enqueue(jobs.slice(4))
    expect(spool.stats(Date.now()).depth).toBe(jobs.length)
    const delivered = drain(spool)
    expect(delivered.map((job) => job.id).sort()).toEqual(ids(jobs).sort())
    for (const key of ['a', 'b', 'c', null]) {
      const ofKey = (list: readonly { id: string; orderKey: string | null }[]) =>
        ids(list.filter((job) => job.orderKey === key))
      expect(ofKey(delivered)).toEqual(ofKey(jobs))
    }
    expect(spool.stats(Date.now())).toMatchObject({ depth: 0, bytes: 0, leased: 0 })
  })

  it('leases unordered jobs in enqueue order across the boundary, one at a time', async () => {
    const spool = openSpool()
    const jobs = Array.from({ length: 13 }, () => newJob())
    for (const job of jobs) await spool.enqueue([job])
    expect(ids(drain(spool, 1))).toEqual(ids(jobs))
  })

  it('holds a spilled job of a key back while an older one of that key is retried', async () => {
    const spool = openSpool()
    const first = newJob({ orderKey: 'k' })
    const fillers = Array.from({ length: 6 }, () => newJob())
    const second = newJob({ orderKey: 'k' })
    await spool.enqueue([first, ...fillers, second])
    const later = Date.now() + HOUR
    expect(ids(spool.lease(1, Date.now()))).toEqual([first.id])
    spool.retry(first.id, later, failed())
    expect(ids(drain(spool, 10))).toEqual(ids(fillers))
    expect(spool.stats(Date.now()).depth).toBe(2)
    expect(spool.nextDueAt()).toBe(later)
    expect(ids(drain(spool, 10, later))).toEqual([first.id, second.id])
  })

  it('ignores a job whose id is pending, in the window or spilled', async () => {
    const spool = openSpool()
    const jobs = Array.from({ length: 9 }, () => newJob())
    await spool.enqueue(jobs)
    await spool.enqueue([
      { ...jobs[1], target: 'other' },
      { ...jobs[7], target: 'other' },
    ])
    await spool.enqueue([{ ...jobs[8], target: 'other' }])
    expect(spool.stats(Date.now()).depth).toBe(9)
    const delivered = drain(spool)
    expect(ids(delivered)).toEqual(ids(jobs))
    expect(delivered.every((job) => job.target === 'main')).toBe(true)
  })

  it('counts spilled jobs in depth and bytes; the oldest age is the oldest job', async () => {
    const spool = openSpool()
    const jobs = Array.from({ length: 12 }, (_, i) => newJob({ payload: Buffer.alloc(i + 1) }))
    await spool.enqueue(jobs.slice(0, 1))
    const [oldest] = spool.lease(1, Date.now())
    await spool.enqueue(jobs.slice(1))
    const total = jobs.reduce((n, job) => n + bytesOf(job), 0)
    expect(spool.stats(oldest.createdAt + 1000)).toEqual({
      depth: 12,
      bytes: total,
      leased: 1,
      deadLetters: 0,
      retrying: 0,
      oldestAgeMs: 1000,
    })
    spool.deadLetter(oldest.id, failed(400), 'gave up')
    expect(spool.stats(Date.now())).toMatchObject({
      depth: 11,
      bytes: total - bytesOf(jobs[0]),
      leased: 0,
      deadLetters: 1,
    })
    drain(spool)
    expect(spool.stats(Date.now())).toEqual({
      depth: 0,
      bytes: 0,
      leased: 0,
      deadLetters: 1,
      retrying: 0,
      oldestAgeMs: 0,
    })
  })

  it('opens a file with more pending jobs than its window, keeping counts, retry state and order', async () => {
    const file = newFile()
    let spool = openSpool(file, 1000)
    const keys = ['a', null, 'b', 'a', null, 'a', 'b', null, 'a', null, 'a', 'b']
    const jobs = keys.map((orderKey) => newJob({ orderKey }))
    await spool.enqueue(jobs)
    // Retry a job that will be spilled when the file is opened with a window of 5.
    const retried = jobs[9]
    const later = Date.now() + HOUR
    const attempt = failed(503)
    expect(spool.lease(20, Date.now()).map((job) => job.id)).toContain(retried.id)
    spool.retry(retried.id, later, attempt)
    const before = spool.stats(Date.now())
    await spool.close()

    spool = openSpool(file, 5)
    expect(spool.stats(Date.now())).toMatchObject({ depth: 12, bytes: before.bytes, leased: 0 })
    const now = Date.now()
    const delivered = drain(spool, 3, now)
    expect(ids(delivered)).not.toContain(retried.id)
    expect(spool.stats(now)).toMatchObject({ depth: 1 })
    expect(spool.lease(10, later)).toMatchObject([
      { id: retried.id, attempts: 1, notBefore: later, history: [attempt] },
    ])
    for (const key of ['a', 'b']) {
      expect(ids(delivered.filter((job) => job.orderKey === key))).toEqual(
        ids(jobs.filter((job) => job.orderKey === key)),
      )
    }
  })

  it('replays a dead letter into a full window: it waits in the file and is delivered after the older jobs', async () => {
    const spool = openSpool()
    const dead = newJob({ orderKey: 'k' })
    await spool.enqueue([dead])
    spool.lease(1, Date.now())
    spool.deadLetter(dead.id, failed(400), 'gave up')
    const jobs = Array.from({ length: 8 }, () => newJob())
    await spool.enqueue(jobs)
    expect(spool.replayDeadLetters([dead.id])).toBe(1)
    expect(spool.stats(Date.now())).toMatchObject({ depth: 9, deadLetters: 0 })
    const delivered = drain(spool, 2)
    expect(ids(delivered)).toEqual([...ids(jobs), dead.id])
    expect(delivered[8]).toMatchObject({ id: dead.id, orderKey: 'k', attempts: 0, message: dead.message })
  })

  it('does not replay a dead letter whose id is pending again, also when that job is spilled', async () => {
    const spool = openSpool()
    const job = newJob()
    await spool.enqueue([job])
    spool.lease(1, Date.now())
    spool.deadLetter(job.id, failed(400), 'gave up')
    await spool.enqueue(Array.from({ length: 5 }, () => newJob()))
    await spool.enqueue([job]) // its message came again: spilled behind the full window
    expect(spool.replayDeadLetters([job.id])).toBe(0)
    expect(spool.stats(Date.now())).toMatchObject({ depth: 6, deadLetters: 1 })
    expect(ids(drain(spool)).filter((id) => id === job.id)).toHaveLength(1)
  })

  it('opens a file whose rows hold longer histories than the cap (written before it), keeping the last ones', async () => {
    const file = newFile()
    let spool = openSpool(file)
    const job = newJob()
    await spool.enqueue([job])
    await spool.close()
    const history = Array.from({ length: HISTORY_LIMIT + 7 }, (_, i) => ({ ...failed(500), at: i }))
    const db = new Database(file)
    db.prepare('UPDATE jobs SET attempts = ?, history = ?').run(history.length, JSON.stringify(history))
    db.close()
    spool = openSpool(file)
    const [leased] = spool.lease(1, Date.now())
    expect(leased).toMatchObject({ id: job.id, attempts: HISTORY_LIMIT + 7, history: history.slice(-HISTORY_LIMIT) })
    const last = failed(400)
    spool.deadLetter(job.id, last, 'gave up')
    expect(spool.getDeadLetter(job.id)).toMatchObject({
      attempts: HISTORY_LIMIT + 8,
      history: [...history.slice(-(HISTORY_LIMIT - 1)), last],
    })
  })

  describe('its size', () => {
    /** Deletes every row under the spool: what is left to deliver is what the window holds in memory. */
    const forgetFile = (file: string) => {
      const db = new Database(file)
      db.prepare('DELETE FROM jobs').run()
      db.close()
    }

    it('holds up to windowJobs while deliveries succeed', async () => {
      const file = newFile()
      const spool = createSqliteSpool({ file, windowJobs: 20, outageWindowJobs: 5 })
      open.push(spool)
      const jobs = Array.from({ length: 12 }, () => newJob())
      await spool.enqueue(jobs)
      forgetFile(file)
      expect(ids(drain(spool, 4))).toEqual(ids(jobs))
    })

    it('admits only up to the outage limit while a job in it is being retried', async () => {
      const file = newFile()
      const spool = createSqliteSpool({ file, windowJobs: 20, outageWindowJobs: 5 })
      open.push(spool)
      const failing = newJob()
      await spool.enqueue([failing])
      spool.lease(1, Date.now())
      spool.retry(failing.id, Date.now() + HOUR, failed())
      const jobs = Array.from({ length: 12 }, () => newJob())
      await spool.enqueue(jobs)
      expect(spool.stats(Date.now()).depth).toBe(13)
      forgetFile(file)
      // The window held the retried job and 4 new ones; the 8 others were only in the file.
      expect(ids(drain(spool, 4))).toEqual(ids(jobs.slice(0, 4)))
    })

    it('admits up to windowJobs again once the retried job is done', async () => {
      const file = newFile()
      const spool = createSqliteSpool({ file, windowJobs: 20, outageWindowJobs: 5 })
      open.push(spool)
      const failing = newJob()
      await spool.enqueue([failing])
      spool.lease(1, Date.now())
      spool.retry(failing.id, Date.now(), failed())
      expect(ids(spool.lease(1, Date.now()))).toEqual([failing.id])
      spool.complete(failing.id)
      const jobs = Array.from({ length: 12 }, () => newJob())
      await spool.enqueue(jobs)
      forgetFile(file)
      expect(ids(drain(spool, 4))).toEqual(ids(jobs))
    })

    it('holds no more than windowBytes', async () => {
      const file = newFile()
      const jobs = Array.from({ length: 6 }, () => newJob())
      const spool = createSqliteSpool({ file, windowJobs: 20, windowBytes: bytesOf(jobs[0]!) * 2 })
      open.push(spool)
      await spool.enqueue(jobs)
      forgetFile(file)
      expect(ids(drain(spool, 4))).toEqual(ids(jobs.slice(0, 2)))
    })
  })
})
