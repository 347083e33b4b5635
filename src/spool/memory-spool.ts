// The volatile spool (memory-only mode): everything is lost when the process exits. Jobs are leasable as soon
// as `enqueue` returns; per-operation cost stays O(1) or O(log n) at millions of jobs (see job-index.ts).
import { type ContentEntry, JobIndex, jobBytes, leasedJob, NO_ATTEMPTS, withAttempt } from './job-index.js'
import type { AttemptRecord, DeadLetter, DeadLetterQuery, NewJob, Spool, SpoolStats } from './spool.js'

export function createMemorySpool(): Spool {
  const index = new JobIndex<ContentEntry>()
  /** In the order they died (Map keeps insertion order), which is the order they are listed in. */
  const deadLetters = new Map<string, DeadLetter>()
  let seq = 0
  /** Pending jobs with an attempt behind them. */
  let retrying = 0
  let closed = false

  function assertOpen(): void {
    if (closed) throw new Error('The spool is closed')
  }

  function add(job: NewJob, createdAt: number, history: readonly AttemptRecord[]): boolean {
    const { id, rule, target, orderKey, message, request } = job
    return index.add({
      id,
      seq: ++seq,
      rule,
      orderKey,
      createdAt,
      notBefore: createdAt,
      attempts: 0,
      history,
      bytes: jobBytes(job),
      state: 'waiting',
      gen: 0,
      job: { id, rule, target, orderKey, message, request },
    })
  }

  function copy(dead: DeadLetter): DeadLetter {
    return { ...dead, history: [...dead.history] }
  }

  return {
    enqueue(jobs) {
      if (closed) return Promise.reject(new Error('The spool is closed'))
      const now = Date.now()
      for (const job of jobs) add(job, now, NO_ATTEMPTS)
      return Promise.resolve()
    },

    lease(limit, now) {
      assertOpen()
      return index.lease(limit, now).map(leasedJob)
    },

    complete(id) {
      assertOpen()
      const entry = index.remove(id)
      if (entry !== undefined && entry.attempts > 0) retrying--
    },

    retry(id, notBefore, attempt) {
      assertOpen()
      const entry = index.get(id)
      if (entry === undefined) return
      if (entry.attempts++ === 0) retrying++
      entry.history = withAttempt(entry.history, attempt)
      index.reschedule(id, notBefore)
    },

    deadLetter(id, attempt, reason) {
      assertOpen()
      const entry = index.remove(id)
      if (entry === undefined) return
      if (entry.attempts > 0) retrying--
      const job = leasedJob(entry)
      deadLetters.delete(id)
      deadLetters.set(id, {
        ...job,
        attempts: job.attempts + 1,
        history: withAttempt(job.history, attempt),
        deadAt: Date.now(),
        reason,
      })
    },

    release(id) {
      assertOpen()
      index.release(id)
    },

    nextDueAt: () => index.nextDueAt(),

    stats(now): SpoolStats {
      const oldest = index.oldestCreatedAt()
      return {
        depth: index.size,
        bytes: index.bytes,
        leased: index.leased,
        deadLetters: deadLetters.size,
        retrying,
        oldestAgeMs: oldest === null ? 0 : Math.max(0, now - oldest),
      }
    },

    listDeadLetters(query: DeadLetterQuery = {}) {
      const limit = query.limit ?? Number.POSITIVE_INFINITY
      const out: DeadLetter[] = []
      // An unknown `after` id yields nothing, like the SQLite spool.
      let started = query.after === undefined
      for (const dead of deadLetters.values()) {
        if (out.length >= limit) break
        if (!started) {
          started = dead.id === query.after
          continue
        }
        if (query.rule === undefined || dead.rule === query.rule) out.push(copy(dead))
      }
      return out
    },

    getDeadLetter(id) {
      const dead = deadLetters.get(id)
      return dead === undefined ? undefined : copy(dead)
    },

    replayDeadLetters(ids) {
      assertOpen()
      const now = Date.now()
      let count = 0
      for (const id of ids) {
        const dead = deadLetters.get(id)
        // A job with this id may be pending again (the broker redelivered its message): leave the dead letter.
        if (dead === undefined || index.get(id) !== undefined) continue
        deadLetters.delete(id)
        add(dead, now, dead.history)
        count++
      }
      return count
    },

    purgeDeadLetters(ids, rule) {
      assertOpen()
      let count = 0
      const matches = (dead: DeadLetter | undefined): dead is DeadLetter =>
        dead !== undefined && (rule === undefined || dead.rule === rule)
      if (ids !== undefined) {
        for (const id of ids) if (matches(deadLetters.get(id)) && deadLetters.delete(id)) count++
        return count
      }
      for (const dead of deadLetters.values()) if (matches(dead) && deadLetters.delete(dead.id)) count++
      return count
    },

    close() {
      closed = true
      return Promise.resolve()
    },
  }
}
