// Checkpoints the spool's WAL from a worker thread with a connection of its own. SQLite's auto-checkpoint runs
// inside the commit that crosses its threshold, so the copy into the database file and its fsync stalled a group
// commit (and the event loop) every few thousand jobs; a PASSIVE checkpoint here never waits for the writer
// and the writer never waits for it. The spool's connection keeps a high auto-checkpoint as the WAL's bound
// should this thread fall behind or fail.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
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
