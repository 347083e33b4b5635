// Checkpoints the spool's WAL from a worker thread with a connection of its own. SQLite's auto-checkpoint runs
// inside the commit that crosses its threshold, so the copy into the database file and its fsync stalled a group
// commit (and the event loop) every few thousand jobs; a PASSIVE checkpoint here never waits for the writer
// and the writer never waits for it. The spool's connection keeps a high auto-checkpoint as the WAL's bound
// should this thread fall behind or fail.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type Database from 'better-sqlite3'
import type { Synchronous } from './sqlite-schema.js'

export interface Checkpointer {
  /** Stops the thread and closes its connection (before the spool closes its own, which removes the WAL). */
  close(): Promise<void>
}

export interface CheckpointerOptions {
  file: string
  synchronous: Synchronous
  intervalMs: number
  /** Called if the thread fails: the spool falls back to SQLite's auto-checkpoint. */
  onError: (err: unknown) => void
}

// CommonJS text run with `eval`: the spool's sources run untranspiled in tests, so no separate worker file.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.sqlite)
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('synchronous = ' + workerData.synchronous)
db.pragma('journal_size_limit = 67108864')
const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.intervalMs)
parentPort.once('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3')

export function startCheckpointer(options: CheckpointerOptions): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      sqlite: sqlitePath,
      file: options.file,
      synchronous: options.synchronous,
      intervalMs: options.intervalMs,
    },
  })
  // Never what keeps the process alive.
  worker.unref()
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  worker.once('error', options.onError)
  return {
    async close() {
      // Referenced again: the caller awaits its exit, with nothing else perhaps keeping the process alive.
      worker.ref()
      worker.postMessage('stop')
      await exited
    },
  }
}

/** Pages (4 KB) the WAL may reach before a commit checkpoints it itself, when the checkpointer runs. */
export const AUTO_CHECKPOINT_BACKSTOP_PAGES = 8192

/**
 * Checkpoints `db`'s WAL from a thread every `intervalMs` (0: none, SQLite's auto-checkpoint inside commits).
 * Its own auto-checkpoint stays on as the WAL's bound (32 MB), and goes back to SQLite's default if the thread fails.
 */
export function checkpointInBackground(
  db: Database.Database,
  options: Pick<CheckpointerOptions, 'file' | 'synchronous' | 'intervalMs'>,
): Checkpointer | undefined {
  if (options.intervalMs <= 0) return undefined
  db.pragma(`wal_autocheckpoint = ${AUTO_CHECKPOINT_BACKSTOP_PAGES}`)
  let failed = false
  const checkpointer = startCheckpointer({
    ...options,
    onError: () => {
      failed = true
      if (db.open) db.pragma('wal_autocheckpoint = 1000')
    },
  })
  return {
    close: () => (failed ? Promise.resolve() : checkpointer.close()),
  }
}
