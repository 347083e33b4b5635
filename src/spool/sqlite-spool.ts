// The durable spool: jobs in a SQLite file (better-sqlite3, WAL). Writes are grouped: the enqueues made within
// `groupCommitMs` (0: within one turn of the event loop) go into one transaction with every complete, retry and
// dead letter waiting so far (those wait up to `lazyCommitMs`), and enqueue promises resolve once it committed.
// Memory stays bounded: a window of the oldest pending jobs is in memory, newer ones only in the file
// (sqlite-window.ts). Lease never reads the file.
import { checkpointInBackground } from './checkpointer.js'
import { CommitScheduler } from './commit-scheduler.js'
import { jobBytes, leasedJob, NO_ATTEMPTS, withAttempt } from './job-index.js'
import type { NewJob, Spool, SpoolStats } from './spool.js'
import { createDeadLetterStore } from './sqlite-dead-letters.js'
import {
  INSERT_JOB_SQL,
  type InsertJobParams,
  type JobRow,
  jobParams,
  openSpoolDatabase,
  pendingTotals,
  rowToJob,
  type Synchronous,
} from './sqlite-schema.js'
import {
  DEFAULT_WINDOW_BYTES,
  DEFAULT_WINDOW_JOBS,
  type Inserted,
  NO_STATE,
  SpoolWindow,
  type WindowEntry,
} from './sqlite-window.js'

export interface SqliteSpoolOptions {
  /** The database file, e.g. `<dataDir>/spool.db`; its directory is created if missing. */
  file: string
  /** How long the first enqueue of a group waits for others to join its transaction. 0: until setImmediate. */
  groupCommitMs?: number
  /**
   * How long a complete, retry or dead letter may wait for the next commit (nobody waits for those; an enqueue's
   * commit takes them along). Default 50 ms, and never less than groupCommitMs.
   */
  lazyCommitMs?: number
  /** Commit at once when this many jobs and operations are waiting. */
  maxBatch?: number
  /** NORMAL survives a process crash, FULL also an OS crash or power loss: see openSpoolDatabase. */
  synchronous?: Synchronous
  /**
   * Pending jobs held in memory, content included, while deliveries succeed (5,000 at most while jobs in the
   * window are being retried: sqlite-window.ts). Past it, new jobs are only in the file and are read back in
   * enqueue order as the window drains. Keep it well above delivery.maxInFlight: leased jobs stay in the window,
   * and so do ordered jobs waiting behind an older job of their key (a window filled by one stuck key holds the
   * spilled jobs of other keys back until it drains).
   */
  windowJobs?: number
  /** The same bound in bytes of payload, request body and headers (large messages). */
  windowBytes?: number
  /** The window's bound while jobs in it are being retried (default OUTAGE_WINDOW_JOBS). */
  outageWindowJobs?: number
  /**
   * How often a worker thread checkpoints the WAL (checkpointer.ts), so that no commit pays for it. 0: SQLite's
   * auto-checkpoint inside commits instead.
   */
  checkpointIntervalMs?: number
}

/** Writes waiting for the next group commit, applied in call order (all before the inserts). */
type Op =
  | { kind: 'complete'; seq: number }
  | { kind: 'retry'; entry: WindowEntry }
  | { kind: 'deadLetter'; id: string; seq: number; attempts: number; history: string; deadAt: number; reason: string }

interface EnqueueBatch {
  jobs: readonly NewJob[]
  createdAt: number
  resolve: () => void
  reject: (err: unknown) => void
}

/** Completed jobs are deleted this many at a time (`seq IN (...)`); fewer statement runs than one per job. */
const DELETE_CHUNK = 32

export function createSqliteSpool(options: SqliteSpoolOptions): Spool {
  const groupCommitMs = options.groupCommitMs ?? 2
  const lazyCommitMs = Math.max(groupCommitMs, options.lazyCommitMs ?? 50)
  const maxBatch = options.maxBatch ?? 1000
  const synchronous = options.synchronous ?? 'NORMAL'
  const db = openSpoolDatabase(options.file, synchronous)
  const deadLetters = createDeadLetterStore(db)

  const insertJob = db.prepare<InsertJobParams>(INSERT_JOB_SQL)
  const deleteJob = db.prepare<[number]>('DELETE FROM jobs WHERE seq = ?')
  const deleteJobs = db.prepare<number[]>(
    `DELETE FROM jobs WHERE seq IN (${Array.from({ length: DELETE_CHUNK }, () => '?').join(', ')})`,
  )
  const updateJob = db.prepare<[number, number, string, number]>(
    'UPDATE jobs SET attempts = ?, not_before = ?, history = ? WHERE seq = ?',
  )
  const selectJob = db.prepare<[number], JobRow>('SELECT * FROM jobs WHERE seq = ?')
  const selectMaxSeq = db.prepare<[], { maxSeq: number | null }>('SELECT max(seq) AS maxSeq FROM jobs')

  let batches: EnqueueBatch[] = []
  let ops: Op[] = []
  let bufferedDeadLetters = 0
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

  const checkpointer = checkpointInBackground(db, {
    file: options.file,
    synchronous,
    intervalMs: options.checkpointIntervalMs ?? 200,
  })

  const commit = db.transaction((ops: readonly Op[], batches: readonly EnqueueBatch[]) => {
    let newDeadLetters = 0
    const completed: number[] = []
    for (const op of ops) {
      // Deleting later is safe: no op after a complete refers to its job.
      if (op.kind === 'complete') completed.push(op.seq)
      else if (op.kind === 'retry') {
        const e = op.entry
        updateJob.run(e.attempts, e.notBefore, JSON.stringify(e.history), e.seq)
      } else {
        if (deadLetters.bury(op, op.id)) newDeadLetters++
        deleteJob.run(op.seq)
      }
    }
    let i = 0
    for (; i + DELETE_CHUNK <= completed.length; i += DELETE_CHUNK) {
      deleteJobs.run(...completed.slice(i, i + DELETE_CHUNK))
    }
    for (; i < completed.length; i++) deleteJob.run(completed[i])
    const added: Inserted[] = []
    for (const batch of batches) {
      for (const job of batch.jobs) {
        const bytes = jobBytes(job)
        const seq = nextSeq++
        // No change: a job with this id is already pending (e.g. the broker redelivered its message).
        if (insertJob.run(...jobParams(seq, job, batch.createdAt, bytes)).changes === 0) continue
        added.push({ seq, job, createdAt: batch.createdAt, bytes, history: NO_ATTEMPTS })
      }
    }
    return { added, newDeadLetters }
  })

  // Enqueues wait groupCommitMs (someone waits for them); completes, retries and dead letters lazyCommitMs (nobody
  // does: an enqueue's commit takes them along, and a crash before it only means a duplicate or a repeated attempt).
  const scheduler = new CommitScheduler(() => flush(), maxBatch)

  /** Runs the group commit now. Enqueues fail with the transaction; other writes are retried on their own. */
  function flush(): void {
    scheduler.taken()
    if (ops.length === 0 && batches.length === 0) return
    const takenOps = ops
    const takenBatches = batches
    const takenDeadLetters = bufferedDeadLetters
    ops = []
    batches = []
    bufferedDeadLetters = 0
    const seqBefore = nextSeq
    try {
      const { added, newDeadLetters } = commit(takenOps, takenBatches)
      storedDeadLetters += newDeadLetters
      window.admit(added)
      for (const batch of takenBatches) batch.resolve()
      return
    } catch (err) {
      // Not stored, so not acknowledged to the broker, which will deliver the messages again.
      resyncSeq(seqBefore)
      for (const batch of takenBatches) batch.reject(err)
    }
    if (takenOps.length === 0) return
    try {
      storedDeadLetters += commit(takenOps, []).newDeadLetters
    } catch {
      // Keep them for the next group commit: a lost complete means a duplicate, a lost dead letter a lost job.
      ops = takenOps.concat(ops)
      scheduler.add(takenOps.length, lazyCommitMs)
      bufferedDeadLetters += takenDeadLetters
    }
  }

  /** After a failed transaction: seqs go on from the file's highest (another process may have used ours). */
  function resyncSeq(seqBefore: number): void {
    try {
      nextSeq = Math.max(seqBefore, (selectMaxSeq.get()?.maxSeq ?? 0) + 1)
    } catch {
      nextSeq = seqBefore // the next commit will tell
    }
  }

  function assertOpen(): void {
    if (closed) throw new Error(`The spool ${options.file} is closed`)
  }

  return {
    enqueue(jobs) {
      if (closed) return Promise.reject(new Error(`The spool ${options.file} is closed`))
      if (jobs.length === 0) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        batches.push({ jobs, createdAt: Date.now(), resolve, reject })
        scheduler.add(jobs.length, groupCommitMs)
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
      ops.push({ kind: 'complete', seq: e.seq })
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
      // The row is written from the entry at commit: several retries in one group cost one JSON each.
      ops.push({ kind: 'retry', entry: e })
      scheduler.add(1, lazyCommitMs)
    },

    deadLetter(id, attempt, reason) {
      assertOpen()
      const e = window.remove(id)
      if (e === undefined) return
      const history = JSON.stringify(withAttempt(e.history, attempt))
      ops.push({ kind: 'deadLetter', id, seq: e.seq, attempts: e.attempts + 1, history, deadAt: Date.now(), reason })
      bufferedDeadLetters++
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
        depth: index.size + window.spilled,
        bytes: index.bytes + window.spilledBytes,
        leased: index.leased,
        deadLetters: storedDeadLetters + bufferedDeadLetters,
        oldestAgeMs: oldest === null ? 0 : Math.max(0, now - oldest),
      }
    },

    // The dead-letter operations are rare: they commit what is buffered first so that they see it.
    listDeadLetters(query = {}) {
      assertOpen()
      flush()
      return deadLetters.list(query)
    },

    getDeadLetter(id) {
      assertOpen()
      flush()
      return deadLetters.get(id)
    },

    replayDeadLetters(ids) {
      assertOpen()
      flush()
      const now = Date.now()
      const seqBefore = nextSeq
      let replayed: Inserted[]
      try {
        replayed = db.transaction(() => {
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
      } catch (err) {
        resyncSeq(seqBefore)
        throw err
      }
      storedDeadLetters -= replayed.length
      // Into the window if it has room, else spilled: read in when the window drains, like any new job.
      window.admit(replayed)
      return replayed.length
    },

    purgeDeadLetters(ids, rule) {
      assertOpen()
      flush()
      const count = db.transaction(() => deadLetters.purge(ids, rule))()
      storedDeadLetters -= count
      return count
    },

    async close() {
      if (closed) return
      closed = true
      try {
        flush()
      } finally {
        await checkpointer?.close()
        db.close()
      }
    },
  }
}
