// The durable spool's window: the oldest pending jobs, scheduling state and content, in memory (job-index.ts);
// newer jobs only in the file ("spilled"), counted, and read in oldest first as the window drains. Seqs only
// grow, so spilled jobs are always newer than the window's: per-key order and "oldest first" hold.
import type Database from 'better-sqlite3'
import { type ContentEntry, JobIndex, NO_ATTEMPTS } from './job-index.js'
import { type AttemptRecord, HISTORY_LIMIT, type NewJob } from './spool.js'
import { type JobRow, rowToJob } from './sqlite-schema.js'

/** Default of `windowJobs`: 20 times delivery.maxInFlight; ~1 KB of heap each with the bench's jobs. */
export const DEFAULT_WINDOW_JOBS = 5_000

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

/** rowToJob's scheduling state where only the content is wanted (the entry holds the state). */
export const NO_STATE = { attempts: 0, notBefore: 0, history: [] }

const capped = (history: AttemptRecord[]): AttemptRecord[] =>
  history.length > HISTORY_LIMIT ? history.slice(-HISTORY_LIMIT) : history

export class SpoolWindow {
  readonly index = new JobIndex<WindowEntry>()
  /** Pending jobs only in the file, and their bytes. */
  spilled: number
  spilledBytes: number
  /** Every pending job with seq <= windowEnd is in the window. */
  private windowEnd = 0
  private readonly windowJobs: number
  /** Read spilled jobs in once this much room has been made (or the window is empty), not one by one. */
  private readonly refillAt: number
  private readonly selectAfter: Database.Statement<[number, number], JobRow>

  constructor(db: Database.Database, windowJobs: number, totals: { count: number; bytes: number }) {
    this.windowJobs = Math.max(1, windowJobs)
    this.refillAt = Math.max(1, Math.min(256, Math.floor(this.windowJobs / 4)))
    this.spilled = totals.count
    this.spilledBytes = totals.bytes
    this.selectAfter = db.prepare<[number, number], JobRow>('SELECT * FROM jobs WHERE seq > ? ORDER BY seq LIMIT ?')
  }

  /** Jobs committed after the window's end go to the window while it has room and nothing is spilled. */
  admit(added: readonly Inserted[]): void {
    for (const a of added) {
      if (this.spilled === 0 && this.index.size < this.windowJobs) {
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

  /** Reads spilled jobs into the window, oldest first, once there is room for a chunk. */
  refill(): void {
    if (this.spilled === 0) return
    const room = this.windowJobs - this.index.size
    if (room < this.refillAt && this.index.size > 0) return
    for (const row of this.selectAfter.iterate(this.windowEnd, room)) {
      const e = entry(row.seq, rowToJob(row, NO_STATE), row.created_at, row.bytes, row)
      this.index.add(e, e.notBefore === e.createdAt ? 'fresh' : 'delayed')
      this.windowEnd = row.seq
      this.spilled--
      this.spilledBytes -= row.bytes
    }
    if (this.index.size < this.windowJobs && this.spilled > 0) {
      // Counted but not found: deleted under us (by another process). Nothing is left to read in.
      this.spilled = 0
      this.spilledBytes = 0
    }
  }
}

function entry(seq: number, job: NewJob, createdAt: number, bytes: number, row?: JobRow): WindowEntry {
  const { id, rule, target, orderKey, message, request } = job
  return {
    id,
    seq,
    rule,
    orderKey,
    createdAt,
    notBefore: row?.not_before ?? createdAt,
    attempts: row?.attempts ?? 0,
    history: row === undefined || row.history === '[]' ? NO_ATTEMPTS : capped(JSON.parse(row.history)),
    bytes,
    state: 'waiting',
    gen: 0,
    // A copy of the fields only: the caller's object may carry more.
    job: { id, rule, target, orderKey, message, request },
  }
}
