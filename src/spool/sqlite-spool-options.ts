// The settings of the durable spool (sqlite-spool.ts).

import type { JournalOptions } from './sqlite-journal.js'
import type { Synchronous } from './sqlite-schema.js'

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
  /**
   * How long a new job may wait in memory for its delivery before it is written, while no job is being retried.
   * Its enqueue resolves when all of its batch is delivered (nothing written) or written. 0 (the default): every
   * enqueue is written at the next group commit.
   */
  deferWriteMs?: number
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
   * How often the writer thread checkpoints the WAL between commits (sqlite-writer.ts), so that no commit pays for
   * it. 0: SQLite's auto-checkpoint inside commits instead.
   */
  checkpointIntervalMs?: number
  /**
   * Window jobs are journaled with their group commit rather than inserted one row each (sqlite-journal.ts);
   * how long they stay so at most, and the journal's bounds. For tests; the defaults suit production.
   */
  journal?: Partial<JournalOptions>
}
