// The durable spool: jobs in a SQLite file (better-sqlite3, WAL). Writes are grouped: every enqueue, complete,
// retry and dead-letter made within `groupCommitMs` goes into one transaction, and enqueue promises resolve once
// it has committed. Scheduling runs on an in-memory index (job-index.ts) loaded at open; lease reads only the
// rows it hands out.
import { JobIndex, jobBytes, NO_ATTEMPTS, type PendingEntry } from './job-index.js'
import type { Job, NewJob, Spool, SpoolStats } from './spool.js'
import { createDeadLetterStore } from './sqlite-dead-letters.js'
import {
  JOB_CONTENT_COLUMNS,
  type JobContentRow,
  jobParams,
  openSpoolDatabase,
  readPendingEntries,
  rowToJob,
  type Synchronous,
} from './sqlite-schema.js'

export interface SqliteSpoolOptions {
  /** The database file, e.g. `<dataDir>/spool.db`; its directory is created if missing. */
  file: string
  /** How long the first write of a group waits for others to join its transaction. 0: until setImmediate. */
  groupCommitMs?: number
  /** Commit at once when this many jobs and operations are waiting. */
  maxBatch?: number
  /** NORMAL survives a process crash, FULL also an OS crash or power loss: see openSpoolDatabase. */
  synchronous?: Synchronous
}

/** Writes waiting for the next group commit, applied in call order (all before the inserts). */
type Op =
  | { kind: 'complete'; seq: number }
  | { kind: 'retry'; seq: number; notBefore: number; attempts: number; history: string }
  | { kind: 'deadLetter'; id: string; seq: number; attempts: number; history: string; deadAt: number; reason: string }

interface EnqueueBatch {
  jobs: readonly NewJob[]
  createdAt: number
  resolve: () => void
  reject: (err: unknown) => void
}

export function createSqliteSpool(options: SqliteSpoolOptions): Spool {
  const groupCommitMs = options.groupCommitMs ?? 2
  const maxBatch = options.maxBatch ?? 1000
  const db = openSpoolDatabase(options.file, options.synchronous ?? 'NORMAL')
  const deadLetters = createDeadLetterStore(db)
  const index = new JobIndex<PendingEntry>()

  const insertJob = db.prepare<ReturnType<typeof jobParams>>(
    `INSERT INTO jobs (id, rule, target, order_key, created_at, attempts, not_before, history, topic, payload, qos,
       retain, received_at, properties, method, url, headers, body, bytes)
     VALUES (@id, @rule, @target, @order_key, @created_at, @attempts, @not_before, @history, @topic, @payload, @qos,
       @retain, @received_at, @properties, @method, @url, @headers, @body, @bytes)
     ON CONFLICT (id) DO NOTHING`,
  )
  const deleteJob = db.prepare<[number]>('DELETE FROM jobs WHERE seq = ?')
  const updateJob = db.prepare<[number, number, string, number]>(
    'UPDATE jobs SET attempts = ?, not_before = ?, history = ? WHERE seq = ?',
  )
  const selectJob = db.prepare<[number], JobContentRow>(`SELECT ${JOB_CONTENT_COLUMNS} FROM jobs WHERE seq = ?`)

  let batches: EnqueueBatch[] = []
  let ops: Op[] = []
  let waiting = 0
  let bufferedDeadLetters = 0
  let storedDeadLetters = deadLetters.count()
  /** Cancels the scheduled group commit; set while one is scheduled. */
  let cancelTimer: (() => void) | undefined
  let closed = false

  // Restart: every stored job is pending again, none is leased.
  for (const e of readPendingEntries(db)) index.add(e, e.notBefore === e.createdAt ? 'fresh' : 'delayed')

  function entry(
    seq: number,
    id: string,
    rule: string,
    orderKey: string | null,
    createdAt: number,
    bytes: number,
    state: Pick<PendingEntry, 'notBefore' | 'attempts' | 'history'> = {
      notBefore: createdAt,
      attempts: 0,
      history: NO_ATTEMPTS,
    },
  ): PendingEntry {
    return { id, seq, rule, orderKey, createdAt, bytes, ...state, state: 'waiting', gen: 0 }
  }

  const commit = db.transaction((ops: readonly Op[], batches: readonly EnqueueBatch[]) => {
    let newDeadLetters = 0
    for (const op of ops) {
      if (op.kind === 'complete') deleteJob.run(op.seq)
      else if (op.kind === 'retry') updateJob.run(op.attempts, op.notBefore, op.history, op.seq)
      else {
        if (deadLetters.bury(op, op.id)) newDeadLetters++
        deleteJob.run(op.seq)
      }
    }
    const added: PendingEntry[] = []
    for (const batch of batches) {
      for (const job of batch.jobs) {
        const bytes = jobBytes(job)
        const result = insertJob.run(jobParams(job, batch.createdAt, bytes))
        // No change: a job with this id is already pending (e.g. the broker redelivered its message).
        if (result.changes === 0) continue
        const seq = Number(result.lastInsertRowid)
        added.push(entry(seq, job.id, job.rule, job.orderKey, batch.createdAt, bytes))
      }
    }
    return { added, newDeadLetters }
  })

  /** Runs the group commit now. Enqueues fail with the transaction; other writes are retried on their own. */
  function flush(): void {
    cancelTimer?.()
    cancelTimer = undefined
    if (ops.length === 0 && batches.length === 0) return
    const takenOps = ops
    const takenBatches = batches
    const takenDeadLetters = bufferedDeadLetters
    ops = []
    batches = []
    waiting = 0
    bufferedDeadLetters = 0
    try {
      const { added, newDeadLetters } = commit(takenOps, takenBatches)
      storedDeadLetters += newDeadLetters
      for (const e of added) index.add(e)
      for (const batch of takenBatches) batch.resolve()
      return
    } catch (err) {
      // Not stored, so not acknowledged to the broker, which will deliver the messages again.
      for (const batch of takenBatches) batch.reject(err)
    }
    if (takenOps.length === 0) return
    try {
      storedDeadLetters += commit(takenOps, []).newDeadLetters
    } catch {
      // Keep them for the next group commit: a lost complete means a duplicate, a lost dead letter a lost job.
      ops = takenOps.concat(ops)
      waiting += takenOps.length
      bufferedDeadLetters += takenDeadLetters
    }
  }

  function buffered(count: number): void {
    waiting += count
    if (waiting >= maxBatch) flush()
    else if (cancelTimer === undefined) {
      if (groupCommitMs > 0) {
        const timer = setTimeout(flush, groupCommitMs)
        cancelTimer = () => clearTimeout(timer)
      } else {
        const immediate = setImmediate(flush)
        cancelTimer = () => clearImmediate(immediate)
      }
    }
  }

  function assertOpen(): void {
    if (closed) throw new Error(`The spool ${options.file} is closed`)
  }

  // One read transaction for all the rows of a lease: in WAL mode each transaction takes a shared-memory lock.
  const readJobs = db.transaction((entries: readonly PendingEntry[]) => {
    const jobs: Job[] = []
    for (const e of entries) {
      const row = selectJob.get(e.seq)
      if (row === undefined) {
        index.remove(e.id) // the row is gone (deleted by another process?): nothing to deliver
        continue
      }
      // Attempts and history come from the index: a retry still waiting for its group commit is already visible.
      jobs.push(rowToJob(row, { attempts: e.attempts, notBefore: e.notBefore, history: e.history.slice() }))
    }
    return jobs
  })

  return {
    enqueue(jobs) {
      if (closed) return Promise.reject(new Error(`The spool ${options.file} is closed`))
      if (jobs.length === 0) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        batches.push({ jobs, createdAt: Date.now(), resolve, reject })
        buffered(jobs.length)
      })
    },

    lease(limit, now) {
      assertOpen()
      const entries = index.lease(limit, now)
      if (entries.length === 0) return []
      try {
        return readJobs(entries)
      } catch (err) {
        for (const e of entries) index.release(e.id)
        throw err
      }
    },

    complete(id) {
      assertOpen()
      const e = index.remove(id)
      if (e === undefined) return
      ops.push({ kind: 'complete', seq: e.seq })
      buffered(1)
    },

    retry(id, notBefore, attempt) {
      assertOpen()
      const e = index.get(id)
      if (e === undefined) return
      e.attempts++
      e.history = [...e.history, attempt]
      index.reschedule(id, notBefore)
      ops.push({ kind: 'retry', seq: e.seq, notBefore, attempts: e.attempts, history: JSON.stringify(e.history) })
      buffered(1)
    },

    deadLetter(id, attempt, reason) {
      assertOpen()
      const e = index.remove(id)
      if (e === undefined) return
      const history = JSON.stringify([...e.history, attempt])
      ops.push({ kind: 'deadLetter', id, seq: e.seq, attempts: e.attempts + 1, history, deadAt: Date.now(), reason })
      bufferedDeadLetters++
      buffered(1)
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
      const replayed = db.transaction(() => {
        const added: PendingEntry[] = []
        for (const id of ids) {
          if (index.get(id) !== undefined) continue // pending again already (its message was redelivered)
          const job = deadLetters.exhume(id, now)
          if (job === undefined) continue
          added.push(
            entry(job.seq, id, job.rule, job.orderKey, now, job.bytes, {
              notBefore: now,
              attempts: 0,
              history: job.history,
            }),
          )
        }
        return added
      })()
      storedDeadLetters -= replayed.length
      for (const e of replayed) index.add(e)
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
        db.close()
      }
    },
  }
}
