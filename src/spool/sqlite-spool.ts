// The durable spool: jobs in a SQLite file (better-sqlite3, WAL), written by a thread of their own
// (sqlite-writer.ts). Writes are grouped: the enqueues made within `groupCommitMs` (0: within one turn of the event
// loop) go into one transaction with every complete, retry and dead letter waiting so far (those wait up to
// `lazyCommitMs`), and enqueue promises resolve once it committed. A new job goes into the window at once, so it
// can be delivered while its commit runs; one delivered before its commit is not written at all. With
// `deferWriteMs`, and while no job is being retried, an enqueue waits that long for its jobs' deliveries instead
// of the next commit: delivered by then, it resolves with nothing written (the message, not yet acknowledged,
// is still the broker's to send again). Memory stays bounded: a window of the oldest pending jobs is in memory,
// newer ones only in the file (sqlite-window.ts).
import { CommitScheduler } from './commit-scheduler.js'
import { jobBytes, leasedJob, withAttempt } from './job-index.js'
import type { Spool, SpoolStats } from './spool.js'
import { createDeadLetterStore } from './sqlite-dead-letters.js'
import { replayJournal } from './sqlite-journal.js'
import { type Item, PendingWrites } from './sqlite-pending-writes.js'
import { type JobRow, openSpoolDatabase, pendingTotals, rowToJob } from './sqlite-schema.js'
import type { SqliteSpoolOptions } from './sqlite-spool-options.js'
import { DEFAULT_WINDOW_BYTES, DEFAULT_WINDOW_JOBS, type Inserted, NO_STATE, SpoolWindow } from './sqlite-window.js'
import { SpoolWriter } from './sqlite-writer.js'

export type { SqliteSpoolOptions } from './sqlite-spool-options.js'

export function createSqliteSpool(options: SqliteSpoolOptions): Spool {
  const groupCommitMs = options.groupCommitMs ?? 10
  const lazyCommitMs = Math.max(groupCommitMs, options.lazyCommitMs ?? 50)
  const deferWriteMs = options.deferWriteMs ?? 0
  const maxBatch = options.maxBatch ?? 1000
  const synchronous = options.synchronous ?? 'NORMAL'
  const db = openSpoolDatabase(options.file, synchronous)
  // Jobs a previous run left journaled go to `jobs` before anything reads it.
  try {
    replayJournal(db)
  } catch (err) {
    db.close()
    throw new Error(`Spool file ${options.file}: its journal could not be replayed: ${(err as Error).message}`)
  }
  const deadLetters = createDeadLetterStore(db)
  const selectJob = db.prepare<[number], JobRow>('SELECT * FROM jobs WHERE seq = ?')

  const pending = new PendingWrites()
  /** Dead letters in a commit not yet done, and those the file holds. */
  let committingDeadLetters = 0
  let storedDeadLetters = deadLetters.count()
  let closed = false

  // The window holds the oldest pending jobs; the file alone holds the spilled ones after it (sqlite-window.ts).
  const totals = pendingTotals(db)
  let nextSeq = totals.maxSeq + 1
  const window = new SpoolWindow(
    db,
    {
      jobs: options.windowJobs ?? DEFAULT_WINDOW_JOBS,
      bytes: options.windowBytes ?? DEFAULT_WINDOW_BYTES,
      outageJobs: options.outageWindowJobs,
    },
    totals,
  )
  const { index } = window
  // Restart: load the first window; every stored job is pending again, none is leased.
  window.refill()

  const writer = new SpoolWriter({
    file: options.file,
    synchronous,
    checkpointIntervalMs: options.checkpointIntervalMs ?? 200,
    journal: options.journal,
  })

  // Enqueues wait groupCommitMs (someone waits for them); completes, retries and dead letters lazyCommitMs (nobody
  // does: an enqueue's commit takes them along, and a crash before it only means a duplicate or a repeated attempt).
  const scheduler = new CommitScheduler(() => flush(), maxBatch)

  /** Posts the group commit to the writer thread. Enqueues fail with the transaction; other writes are retried. */
  function flush(): void {
    scheduler.taken()
    // A job being retried means deliveries are in trouble: what waits for them would wait in vain.
    if (window.retrying > 0) pending.forceUntil()
    else pending.forceUntil(Date.now() - deferWriteMs)
    const oldest = pending.oldestDeferredAt()
    if (oldest !== undefined) scheduler.add(0, Math.max(0, oldest + deferWriteMs - Date.now()))
    for (const batch of pending.takeDelivered()) batch.resolve()
    if (pending.empty) return
    const group = pending.take()
    committingDeadLetters += group.deadLetters
    // While deliveries fail, journaling would only postpone each job's row (its retry writes it): none then.
    const journal = window.retrying === 0
    writer.commit(
      group.inserted,
      group.ops,
      (err, result) => {
        committingDeadLetters -= group.deadLetters
        const { inserted, spilling, spillingBytes } = group
        if (err === undefined) {
          storedDeadLetters += result.newDeadLetters
          let stored = spilling
          let storedBytes = spillingBytes
          for (const i of result.skipped) {
            // A job with this id was stored already (by another process): this copy is not pending.
            const { entry, bytes } = inserted[i]!
            if (entry === undefined) {
              stored--
              storedBytes -= bytes
            } else if (entry.state !== 'leased') window.remove(entry.id)
          }
          window.committed(spilling, spillingBytes, stored, storedBytes)
          for (const batch of group.batches) batch.resolve()
          return
        }
        // Not stored, so not acknowledged to the broker, which will deliver the messages again: forget the jobs
        // not in delivery (one that is may be delivered twice, which at-least-once allows).
        window.committed(spilling, spillingBytes, 0, 0)
        for (const { entry } of inserted) if (entry !== undefined && entry.state !== 'leased') window.remove(entry.id)
        for (const batch of group.batches) batch.reject(err)
        if (group.ops.length === 0 || closed) return
        // Keep them for the next group commit: a lost complete means a duplicate, a lost dead letter a lost job.
        pending.putBack(group.ops, group.deadLetters)
        scheduler.add(group.ops.length, lazyCommitMs)
      },
      journal,
    )
  }

  /** Every write so far is in the file (and accounted for): for the operations that read or write it here. */
  function settle(): void {
    flush()
    writer.drain()
  }

  function assertOpen(): void {
    if (closed) throw new Error(`The spool ${options.file} is closed`)
  }

  return {
    enqueue(jobs) {
      if (closed) return Promise.reject(new Error(`The spool ${options.file} is closed`))
      if (jobs.length === 0) return Promise.resolve()
      const createdAt = Date.now()
      const items: Item[] = []
      let defer = deferWriteMs > 0 && window.retrying === 0
      for (const job of jobs) {
        // Already pending in the window (its message came again): one job is enough, and it is written now,
        // since this message is acknowledged once it is.
        const existing = index.get(job.id)
        if (existing !== undefined) {
          pending.force(existing)
          defer = false
          continue
        }
        const seq = nextSeq++
        const bytes = jobBytes(job)
        const entry = window.take(seq, job, createdAt, bytes)
        items.push({ seq, job, createdAt, bytes, entry })
      }
      return new Promise<void>((resolve, reject) => {
        if (pending.enqueued({ items, createdAt, resolve, reject }, defer)) scheduler.add(0, deferWriteMs)
        else scheduler.add(Math.max(1, items.length), groupCommitMs)
      })
    },

    lease(limit, now) {
      assertOpen()
      window.refill()
      return index.lease(limit, now).map(leasedJob)
    },

    complete(id) {
      assertOpen()
      const e = window.remove(id)
      if (e === undefined) return
      if (pending.completed(e)) {
        if (pending.delivered > 0) scheduler.add(0, groupCommitMs)
        return
      }
      pending.op([0, e.seq])
      scheduler.add(1, lazyCommitMs)
    },

    retry(id, notBefore, attempt) {
      assertOpen()
      const e = index.get(id)
      if (e === undefined) return
      e.attempts++
      e.history = withAttempt(e.history, attempt)
      index.reschedule(id, notBefore)
      window.retried(e)
      // Deliveries are failing: stop waiting for them (flush writes every deferred batch while one is retried).
      if (pending.waiting > 0) scheduler.add(1, groupCommitMs)
      // Not written yet: its row will be written as it is then.
      if (pending.isUnwritten(e)) return
      pending.op([1, e.seq, e.attempts, e.notBefore, JSON.stringify(e.history)])
      scheduler.add(1, lazyCommitMs)
    },

    deadLetter(id, attempt, reason) {
      assertOpen()
      const e = window.remove(id)
      if (e === undefined) return
      const history = JSON.stringify(withAttempt(e.history, attempt))
      // Also when not written yet: its row is inserted first in the same commit.
      pending.force(e)
      pending.op([2, e.seq, id, e.attempts + 1, history, Date.now(), reason])
      scheduler.add(1, lazyCommitMs)
    },

    release(id) {
      assertOpen()
      index.release(id)
    },

    nextDueAt() {
      if (!closed) window.refill()
      return index.nextDueAt()
    },

    stats(now): SpoolStats {
      if (!closed) window.refill()
      // Spilled jobs are newer than the window's, so the window has the oldest.
      const oldest = index.oldestCreatedAt()
      return {
        depth: index.size + window.spilled + window.spilling,
        bytes: index.bytes + window.spilledBytes + window.spillingBytes,
        leased: index.leased,
        deadLetters: storedDeadLetters + pending.deadLetters + committingDeadLetters,
        retrying: window.retrying,
        oldestAgeMs: oldest === null ? 0 : Math.max(0, now - oldest),
      }
    },

    // The dead-letter operations are rare: they wait for every write so far first, so that they see it.
    listDeadLetters(query = {}) {
      assertOpen()
      settle()
      return deadLetters.list(query)
    },

    getDeadLetter(id) {
      assertOpen()
      settle()
      return deadLetters.get(id)
    },

    replayDeadLetters(ids) {
      assertOpen()
      settle()
      const now = Date.now()
      const replayed = db.transaction(() => {
        const added: Inserted[] = []
        for (const id of ids) {
          if (index.get(id) !== undefined) continue // pending again already (its message was redelivered)
          const seq = nextSeq++
          const job = deadLetters.exhume(id, now, seq)
          if (job === undefined) continue
          const row = selectJob.get(seq)!
          added.push({ seq, job: rowToJob(row, NO_STATE), createdAt: now, bytes: job.bytes, history: job.history })
        }
        return added
      })()
      storedDeadLetters -= replayed.length
      // Into the window if it has room, else spilled: read in when the window drains, like any new job.
      window.admit(replayed)
      return replayed.length
    },

    purgeDeadLetters(ids, rule) {
      assertOpen()
      settle()
      const count = db.transaction(() => deadLetters.purge(ids, rule))()
      storedDeadLetters -= count
      return count
    },

    async close() {
      if (closed) return
      closed = true
      try {
        pending.forceUntil()
        flush()
        await writer.close()
      } finally {
        db.close()
      }
    },
  }
}
