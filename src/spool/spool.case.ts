// The behaviour every Spool must have, run by memory-spool.test.ts and sqlite-spool.test.ts. Cases that need a
// restart run only when `open` provides `reopen` (which opens the same storage again after `close`).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HISTORY_LIMIT, type Spool } from './spool.js'
import { failed, ids, newJob } from './spool-fixtures.js'
import { runRestartCases } from './spool-restart.case.js'

export type OpenSpool = () => Promise<{ spool: Spool; reopen?: () => Promise<Spool> }>

export interface SuiteContext {
  spool: Spool
  /** Closes the spool and opens its storage again; undefined for volatile spools. */
  restart?: () => Promise<Spool>
}

const HOUR = 3_600_000

export function runSpoolSuite(name: string, open: OpenSpool): void {
  describe(name, () => {
    const ctx = {} as SuiteContext
    beforeEach(async () => {
      const opened = await open()
      ctx.spool = opened.spool
      const reopen = opened.reopen
      ctx.restart =
        reopen &&
        (async () => {
          await ctx.spool.close()
          ctx.spool = await reopen()
          return ctx.spool
        })
    })
    afterEach(() => ctx.spool.close())

    it('leases what was enqueued, byte for byte, then forgets completed jobs', async () => {
      const { spool } = ctx
      const binary = newJob({ payload: Buffer.from([0, 255, 128, 10]) })
      binary.message.properties = { contentType: 'application/octet-stream', userProperties: { a: '1' } }
      binary.message.retain = true
      binary.request.body = Buffer.alloc(0)
      const jobs = [binary, newJob({ orderKey: 'k' })]
      const before = Date.now()
      await spool.enqueue(jobs)
      const leased = spool.lease(10, Date.now())
      expect(leased).toHaveLength(2)
      for (const [i, job] of leased.entries()) {
        expect(job).toMatchObject({ ...jobs[i], attempts: 0, history: [] })
        expect(job.message.payload.equals(jobs[i].message.payload)).toBe(true)
        expect(job.request.body.equals(jobs[i].request.body)).toBe(true)
        expect(job.createdAt).toBeGreaterThanOrEqual(before)
        expect(job.notBefore).toBe(job.createdAt)
      }
      for (const job of leased) spool.complete(job.id)
      expect(spool.lease(10, Date.now() + HOUR)).toEqual([])
      expect(spool.stats(Date.now())).toMatchObject({ depth: 0, leased: 0, bytes: 0 })
    })

    it('leases at most `limit` jobs, oldest first, and never the same job twice', async () => {
      const { spool } = ctx
      const jobs = [newJob(), newJob(), newJob(), newJob(), newJob()]
      await spool.enqueue(jobs.slice(0, 2))
      await spool.enqueue(jobs.slice(2))
      expect(ids(spool.lease(2, Date.now()))).toEqual(ids(jobs.slice(0, 2)))
      expect(ids(spool.lease(10, Date.now()))).toEqual(ids(jobs.slice(2)))
      expect(spool.lease(10, Date.now() + HOUR)).toEqual([])
      expect(spool.lease(0, Date.now())).toEqual([])
    })

    it('ignores a job whose id is already pending', async () => {
      const { spool } = ctx
      const job = newJob()
      await spool.enqueue([job])
      await spool.enqueue([{ ...job, target: 'other' }])
      expect(spool.lease(10, Date.now()).map((j) => j.target)).toEqual(['main'])
      expect(spool.stats(Date.now()).depth).toBe(1)
    })

    it('release makes a job leasable again without recording an attempt', async () => {
      const { spool } = ctx
      const job = newJob()
      await spool.enqueue([job])
      spool.lease(1, Date.now())
      expect(spool.stats(Date.now()).leased).toBe(1)
      spool.release(job.id)
      expect(spool.stats(Date.now()).leased).toBe(0)
      const again = spool.lease(1, Date.now())
      expect(again).toMatchObject([{ id: job.id, attempts: 0, history: [] }])
    })

    it('hands out copies: a worker changing a leased job changes nothing stored', async () => {
      const { spool } = ctx
      const job = newJob()
      await spool.enqueue([job])
      const [leased] = spool.lease(1, Date.now())
      leased.request.headers['x-signature'] = 'sig'
      leased.history.push(failed())
      spool.release(job.id)
      expect(spool.lease(1, Date.now())).toMatchObject([{ request: job.request, history: [] }])
      expect(job.request.headers).toEqual({ 'content-type': 'application/json' })
    })

    it('retry records the attempt and holds the job until notBefore', async () => {
      const { spool } = ctx
      const job = newJob()
      await spool.enqueue([job])
      spool.lease(1, Date.now())
      const notBefore = Date.now() + HOUR
      const attempt = failed(503)
      spool.retry(job.id, notBefore, attempt)
      expect(spool.stats(Date.now()).leased).toBe(0)
      expect(spool.lease(10, notBefore - 1)).toEqual([])
      expect(spool.nextDueAt()).toBe(notBefore)
      const [again] = spool.lease(10, notBefore)
      expect(again).toMatchObject({ id: job.id, attempts: 1, notBefore, history: [attempt] })
      const second = failed(500)
      spool.retry(job.id, notBefore + 1, second)
      expect(spool.lease(10, notBefore + 1)[0]).toMatchObject({ attempts: 2, history: [attempt, second] })
    })

    it(`keeps the last ${HISTORY_LIMIT} attempt records and counts every attempt`, async () => {
      const { spool } = ctx
      const job = newJob()
      await spool.enqueue([job])
      const attempts = Array.from({ length: HISTORY_LIMIT + 5 }, (_, i) => ({ ...failed(500 + i), at: i }))
      for (const attempt of attempts) {
        spool.lease(1, Date.now())
        spool.retry(job.id, 0, attempt)
      }
      const [leased] = spool.lease(1, Date.now())
      expect(leased).toMatchObject({ attempts: HISTORY_LIMIT + 5, history: attempts.slice(-HISTORY_LIMIT) })
      if (ctx.restart !== undefined) {
        await ctx.restart()
        expect(ctx.spool.lease(1, Date.now())[0]).toMatchObject({ attempts: HISTORY_LIMIT + 5 })
        expect(ctx.spool.lease(1, Date.now())).toEqual([])
      }
      const last = failed(400)
      ctx.spool.deadLetter(job.id, last, 'gave up')
      const dead = ctx.spool.getDeadLetter(job.id)!
      expect(dead.attempts).toBe(HISTORY_LIMIT + 6)
      expect(dead.history).toEqual([...attempts.slice(-(HISTORY_LIMIT - 1)), last])
    })

    it('nextDueAt is null when nothing is leasable, else the earliest notBefore', async () => {
      const { spool } = ctx
      expect(spool.nextDueAt()).toBeNull()
      const [a, b] = [newJob(), newJob()]
      await spool.enqueue([a, b])
      const [leasedA] = spool.lease(1, Date.now())
      expect(spool.nextDueAt()).toBeLessThanOrEqual(Date.now())
      spool.lease(1, Date.now())
      expect(spool.nextDueAt()).toBeNull()
      const t = Date.now()
      spool.retry(leasedA.id, t + 2 * HOUR, failed())
      spool.retry(b.id, t + HOUR, failed())
      expect(spool.nextDueAt()).toBe(t + HOUR)
      spool.lease(1, t + HOUR)
      expect(spool.nextDueAt()).toBe(t + 2 * HOUR)
    })

    it('delivers the jobs of one (rule, orderKey) one at a time, in enqueue order', async () => {
      const { spool } = ctx
      const jobs = [newJob({ orderKey: 'k' }), newJob({ orderKey: 'k' }), newJob({ orderKey: 'k' })]
      await spool.enqueue([jobs[0]])
      await spool.enqueue(jobs.slice(1))
      for (const job of jobs) {
        expect(ids(spool.lease(10, Date.now()))).toEqual([job.id])
        expect(spool.lease(10, Date.now() + HOUR)).toEqual([])
        expect(spool.nextDueAt()).toBeNull()
        spool.complete(job.id)
      }
      expect(spool.stats(Date.now()).depth).toBe(0)
    })

    it('interleaves different keys and rules; null keys are unordered', async () => {
      const { spool } = ctx
      const a1 = newJob({ orderKey: 'a' })
      const b1 = newJob({ orderKey: 'b' })
      const a2 = newJob({ orderKey: 'a' })
      const otherRuleA = newJob({ orderKey: 'a', rule: 'rule-b' })
      const free = [newJob(), newJob()]
      await spool.enqueue([a1, b1, a2, otherRuleA, ...free])
      expect(ids(spool.lease(10, Date.now()))).toEqual(ids([a1, b1, otherRuleA, ...free]))
      spool.complete(b1.id)
      expect(spool.lease(10, Date.now())).toEqual([])
      spool.complete(a1.id)
      expect(ids(spool.lease(10, Date.now()))).toEqual([a2.id])
    })

    it('a failing ordered job holds back its own key only, until it succeeds', async () => {
      const { spool } = ctx
      const [x1, x2] = [newJob({ orderKey: 'x' }), newJob({ orderKey: 'x' })]
      const y1 = newJob({ orderKey: 'y' })
      await spool.enqueue([x1, x2, y1])
      expect(ids(spool.lease(10, Date.now()))).toEqual([x1.id, y1.id])
      const later = Date.now() + HOUR
      spool.retry(x1.id, later, failed())
      spool.complete(y1.id)
      expect(spool.lease(10, later - 1)).toEqual([])
      expect(spool.nextDueAt()).toBe(later)
      const y2 = newJob({ orderKey: 'y' })
      await spool.enqueue([y2])
      expect(ids(spool.lease(10, later - 1))).toEqual([y2.id])
      expect(ids(spool.lease(10, later))).toEqual([x1.id])
      spool.complete(x1.id)
      expect(ids(spool.lease(10, later))).toEqual([x2.id])
    })

    it('dead-lettering the first job of a key lets the next one go', async () => {
      const { spool } = ctx
      const [k1, k2] = [newJob({ orderKey: 'k' }), newJob({ orderKey: 'k' })]
      await spool.enqueue([k1, k2])
      spool.lease(10, Date.now())
      spool.deadLetter(k1.id, failed(400), 'HOOKBRIDGE_DELIVERY_STATUS')
      expect(ids(spool.lease(10, Date.now()))).toEqual([k2.id])
    })

    it('dead letters keep the original bytes, topic, rule, history and reason', async () => {
      const { spool } = ctx
      const job = newJob({ payload: Buffer.from([1, 2, 0xfe, 0xff]), rule: 'rule-z' })
      job.message.properties = { correlationData: 'AQI=' }
      await spool.enqueue([job])
      spool.lease(1, Date.now())
      const first = failed(503)
      spool.retry(job.id, Date.now(), first)
      spool.lease(1, Date.now())
      const last = failed(400)
      const before = Date.now()
      spool.deadLetter(job.id, last, 'HOOKBRIDGE_DELIVERY_STATUS')
      const dead = spool.getDeadLetter(job.id)!
      expect(dead).toMatchObject({ ...job, attempts: 2, history: [first, last], reason: 'HOOKBRIDGE_DELIVERY_STATUS' })
      expect(dead.message.payload.equals(job.message.payload)).toBe(true)
      expect(dead.deadAt).toBeGreaterThanOrEqual(before)
      expect(spool.stats(Date.now())).toMatchObject({ depth: 0, deadLetters: 1 })
      expect(spool.lease(10, Date.now() + HOUR)).toEqual([])
      expect(spool.getDeadLetter('nope')).toBeUndefined()
    })

    it('lists dead letters in the order they died, by rule, with limit and after', async () => {
      const { spool } = ctx
      const jobs = [newJob(), newJob({ rule: 'rule-b' }), newJob(), newJob()]
      await spool.enqueue(jobs)
      spool.lease(10, Date.now())
      for (const job of [jobs[2], jobs[0], jobs[1], jobs[3]]) spool.deadLetter(job.id, failed(), 'gave up')
      expect(ids(spool.listDeadLetters())).toEqual(ids([jobs[2], jobs[0], jobs[1], jobs[3]]))
      expect(ids(spool.listDeadLetters({ rule: 'rule-a' }))).toEqual(ids([jobs[2], jobs[0], jobs[3]]))
      expect(ids(spool.listDeadLetters({ limit: 2 }))).toEqual(ids([jobs[2], jobs[0]]))
      expect(ids(spool.listDeadLetters({ after: jobs[0].id, limit: 2 }))).toEqual(ids([jobs[1], jobs[3]]))
      expect(ids(spool.listDeadLetters({ after: jobs[0].id, rule: 'rule-a' }))).toEqual([jobs[3].id])
      expect(spool.listDeadLetters({ after: 'unknown' })).toEqual([])
    })

    it('replay re-queues dead letters with the same id and attempts reset', async () => {
      const { spool } = ctx
      const [a, b] = [newJob({ orderKey: 'k' }), newJob()]
      await spool.enqueue([a, b])
      spool.lease(10, Date.now())
      spool.deadLetter(a.id, failed(), 'gave up')
      spool.deadLetter(b.id, failed(), 'gave up')
      expect(spool.replayDeadLetters([a.id, 'unknown', a.id])).toBe(1)
      expect(spool.getDeadLetter(a.id)).toBeUndefined()
      expect(spool.stats(Date.now())).toMatchObject({ depth: 1, deadLetters: 1 })
      const [again] = spool.lease(10, Date.now())
      expect(again).toMatchObject({ id: a.id, orderKey: 'k', attempts: 0, message: a.message, request: a.request })
      spool.complete(a.id)
      expect(spool.replayDeadLetters([b.id])).toBe(1)
      expect(ids(spool.lease(10, Date.now()))).toEqual([b.id])
    })

    it('purges dead letters by id, by rule, or all', async () => {
      const { spool } = ctx
      const jobs = [newJob(), newJob(), newJob({ rule: 'rule-b' }), newJob({ rule: 'rule-b' }), newJob()]
      await spool.enqueue(jobs)
      spool.lease(10, Date.now())
      for (const job of jobs) spool.deadLetter(job.id, failed(), 'gave up')
      expect(spool.purgeDeadLetters([])).toBe(0)
      expect(spool.purgeDeadLetters([jobs[0].id, 'unknown'])).toBe(1)
      expect(spool.purgeDeadLetters([jobs[1].id], 'rule-b')).toBe(0)
      expect(spool.purgeDeadLetters(undefined, 'rule-b')).toBe(2)
      expect(ids(spool.listDeadLetters())).toEqual(ids([jobs[1], jobs[4]]))
      expect(spool.purgeDeadLetters()).toBe(2)
      expect(spool.stats(Date.now()).deadLetters).toBe(0)
    })

    it('stats count depth, bytes, leased, retrying, dead letters and the oldest age', async () => {
      const { spool } = ctx
      const empty = { depth: 0, bytes: 0, leased: 0, deadLetters: 0, retrying: 0, oldestAgeMs: 0 }
      expect(spool.stats(Date.now())).toEqual(empty)
      const a = newJob({ payload: Buffer.alloc(100) })
      a.request = { method: 'PUT', url: 'http://x/', headers: { ab: 'cde', 'x-é': 'é' }, body: Buffer.alloc(50) }
      const b = newJob({ payload: Buffer.alloc(7) })
      const bBytes = 7 + b.request.body.length + 'content-type'.length + 'application/json'.length
      await spool.enqueue([a])
      const aCreated = spool.lease(1, Date.now())[0].createdAt
      await spool.enqueue([b])
      expect(spool.stats(aCreated + 5000)).toEqual({
        depth: 2,
        bytes: 100 + 50 + 2 + 3 + 4 + 2 + bBytes,
        leased: 1,
        deadLetters: 0,
        retrying: 0,
        oldestAgeMs: 5000,
      })
      spool.retry(a.id, Date.now(), failed())
      expect(spool.stats(Date.now())).toMatchObject({ depth: 2, leased: 0, retrying: 1 })
      spool.deadLetter(a.id, failed(), 'gave up')
      const stats = spool.stats(Date.now())
      expect(stats).toMatchObject({ depth: 1, bytes: bBytes, leased: 0, deadLetters: 1, retrying: 0 })
    })

    it('treats operations on unknown ids as no-ops and refuses work once closed', async () => {
      const { spool } = ctx
      spool.complete('nope')
      spool.retry('nope', 0, failed())
      spool.deadLetter('nope', failed(), 'x')
      spool.release('nope')
      expect(spool.stats(Date.now())).toMatchObject({ depth: 0, deadLetters: 0 })
      await spool.close()
      await expect(spool.enqueue([newJob()])).rejects.toThrow(/closed/)
      expect(() => spool.lease(1, Date.now())).toThrow(/closed/)
    })

    runRestartCases(ctx)
  })
}
