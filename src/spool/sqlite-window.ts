// The durable spool's window: the oldest pending jobs, scheduling state and content, in memory (job-index.ts);
// newer jobs only in the file ("spilled"), counted, and read in oldest first as the window drains. Seqs only
// grow, so spilled jobs are always newer than the window's: per-key order and "oldest first" hold.
//
// How many jobs it holds depends on how deliveries go. While they succeed, up to `windowJobs` (and `windowBytes`):
// a burst that outruns delivery stays in memory and is never read back from the file. While any job in the window
// is waiting to be retried (a receiver is down, say), new jobs are admitted only up to `outageJobs`: they would
// just wait in memory for a receiver that does not answer, so a backlog of millions costs a small window.
import type Database from 'better-sqlite3'
import { type ContentEntry, JobIndex, NO_ATTEMPTS } from './job-index.js'
import { type AttemptRecord, HISTORY_LIMIT, type NewJob } from './spool.js'
import { type InsertJobParams, JOB_COLUMN_NAMES } from './sqlite-schema.js'

/** Defaults of `windowJobs` and `windowBytes`: ~1 KB of heap per job with the bench's jobs, so ~50 MB at most. */
export const DEFAULT_WINDOW_JOBS = 50_000
export const DEFAULT_WINDOW_BYTES = 32 * 1024 * 1024
/** The window's limit while jobs in it are being retried: 20 times delivery.maxInFlight's default. */
export const OUTAGE_WINDOW_JOBS = 5_000

/** A job in the window: scheduling state and its content, so that lease needs no read. */
export type WindowEntry = ContentEntry

/** A job just inserted, for the window or the spilled count once its transaction has committed. */
export interface Inserted {
  seq: number
  job: NewJob
  createdAt: number
  bytes: number
  history: readonly AttemptRecord[]
}

export interface WindowLimits {
  /** Most jobs held while deliveries succeed. */
  jobs: number
  /** Most bytes (jobBytes: payload, body, headers) held. */
  bytes: number
  /** Most jobs admitted while a job in the window is being retried. */
  outageJobs?: number
}

/** rowToJob's scheduling state where only the content is wanted (the entry holds the state). */
export const NO_STATE = { attempts: 0, notBefore: 0, history: [] }

/** Read back positionally (`raw`), which costs about half of building a row object per job; the columns in
 * INSERT_JOB_SQL's order, so a row reads as its insert's parameters. */
const SELECT_AFTER = `SELECT seq, ${JOB_COLUMN_NAMES} FROM jobs WHERE seq > ? ORDER BY seq LIMIT ?`

type RawRow = InsertJobParams

const capped = (history: AttemptRecord[]): AttemptRecord[] =>
  history.length > HISTORY_LIMIT ? history.slice(-HISTORY_LIMIT) : history

export class SpoolWindow {
  readonly index = new JobIndex<WindowEntry>()
  /** Pending jobs only in the file, and their bytes. */
  spilled: number
  spilledBytes: number
  /** New jobs that will only be in the file once their commit is done, and their bytes. */
  spilling = 0
  spillingBytes = 0
  /** Jobs in the window that have had an attempt (retrying ones): while there are any, the outage limit holds. */
  retrying = 0
  /** Every pending job with seq <= windowEnd is in the window. */
  private windowEnd = 0
  private readonly limits: Required<WindowLimits>
  private readonly selectAfter: Database.Statement<[number, number], RawRow>

  constructor(db: Database.Database, limits: WindowLimits, totals: { count: number; bytes: number }) {
    const jobs = Math.max(1, limits.jobs)
    this.limits = {
      jobs,
      bytes: Math.max(1, limits.bytes),
      outageJobs: Math.max(1, Math.min(jobs, limits.outageJobs ?? OUTAGE_WINDOW_JOBS)),
    }
    this.spilled = totals.count
    this.spilledBytes = totals.bytes
    this.selectAfter = db.prepare<[number, number], RawRow>(SELECT_AFTER).raw(true)
  }

  /** How many more jobs the window takes now. */
  private room(): number {
    if (this.index.bytes >= this.limits.bytes) return 0
    const limit = this.retrying > 0 ? this.limits.outageJobs : this.limits.jobs
    return limit - this.index.size
  }

  /**
   * A new job, not yet committed: into the window (returned) while it has room and nothing is spilled, so that it
   * can be delivered while its commit runs; otherwise it will be in the file only (`committed` counts it then).
   */
  take(seq: number, job: NewJob, createdAt: number, bytes: number): WindowEntry | undefined {
    if (this.spilled === 0 && this.spilling === 0 && this.room() > 0) {
      const e = entry(seq, job, createdAt, bytes)
      if (!this.index.add(e)) return undefined
      this.windowEnd = seq
      return e
    }
    this.spilling++
    this.spillingBytes += bytes
    return undefined
  }

  /** The commit of jobs that `take` left to the file is over: `stored` of them are in it. */
  committed(spilling: number, spillingBytes: number, stored: number, storedBytes: number): void {
    this.spilling -= spilling
    this.spillingBytes -= spillingBytes
    this.spilled += stored
    this.spilledBytes += storedBytes
  }

  /** Jobs committed after the window's end go to the window while it has room and nothing is spilled. */
  admit(added: readonly Inserted[]): void {
    for (const a of added) {
      if (this.spilled === 0 && this.room() > 0) {
        const e = entry(a.seq, a.job, a.createdAt, a.bytes)
        if (a.history !== NO_ATTEMPTS) e.history = a.history
        this.index.add(e)
        this.windowEnd = a.seq
      } else {
        this.spilled++
        this.spilledBytes += a.bytes
      }
    }
  }

  /** The job's attempt failed and it waits for a retry. */
  retried(e: WindowEntry): void {
    if (e.attempts === 1) this.retrying++
  }

  /** Forgets a job (completed or dead-lettered). */
  remove(id: string): WindowEntry | undefined {
    const e = this.index.remove(id)
    if (e !== undefined && e.attempts > 0) this.retrying--
    return e
  }

  /** Reads spilled jobs into the window, oldest first, once there is room for a chunk (or the window is empty). */
  refill(): void {
    if (this.spilled === 0) return
    const room = this.room()
    if (room < Math.min(256, this.limits.outageJobs / 4) && this.index.size > 0) return
    const rows = this.selectAfter.all(this.windowEnd, Math.max(1, room))
    for (const row of rows) {
      const e = fromRow(row)
      this.index.add(e, e.notBefore === e.createdAt ? 'fresh' : 'delayed')
      if (e.attempts > 0) this.retrying++
      this.windowEnd = e.seq
      this.spilled--
      this.spilledBytes -= e.bytes
    }
    if (rows.length < room && this.spilled > 0) {
      // Counted but not found: deleted under us (by another process). Nothing is left to read in.
      this.spilled = 0
      this.spilledBytes = 0
    }
  }
}

function entry(seq: number, job: NewJob, createdAt: number, bytes: number): WindowEntry {
  const { id, rule, target, orderKey, message, request } = job
  return {
    id,
    seq,
    rule,
    orderKey,
    createdAt,
    notBefore: createdAt,
    attempts: 0,
    history: NO_ATTEMPTS,
    bytes,
    state: 'waiting',
    gen: 0,
    // A copy of the fields only: the caller's object may carry more.
    job: { id, rule, target, orderKey, message, request },
  }
}

function fromRow(r: RawRow): WindowEntry {
  const message: NewJob['message'] = {
    topic: r[9],
    payload: r[10],
    qos: r[11] as 0 | 1 | 2,
    retain: r[12] === 1,
    receivedAt: r[13],
  }
  if (r[14] !== null) message.properties = JSON.parse(r[14])
  const request = { method: r[15], url: r[16], headers: JSON.parse(r[17]), body: r[18] }
  return {
    id: r[1],
    seq: r[0],
    rule: r[2],
    orderKey: r[4],
    createdAt: r[5],
    notBefore: r[7],
    attempts: r[6],
    history: r[8] === '[]' ? NO_ATTEMPTS : capped(JSON.parse(r[8])),
    bytes: r[19],
    state: 'waiting',
    gen: 0,
    job: { id: r[1], rule: r[2], target: r[3], orderKey: r[4], message, request },
  }
}
