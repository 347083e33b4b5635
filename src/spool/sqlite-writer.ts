// The durable spool's writes run on a worker thread with a connection of its own: inserting, deleting and
// updating jobs and burying dead letters cost ~15-25 µs of CPU per job, which the event loop (MQTT, JSONata,
// HTTP) no longer pays. Commits are applied in the order they are posted, one transaction each; their results
// come back in that order. `drain` waits for every posted commit synchronously (the rare dead-letter operations
// and close read or write the file themselves and must see those writes first).
//
// The thread also checkpoints the WAL (PASSIVE, between commits, every `checkpointIntervalMs`): SQLite's
// auto-checkpoint would copy pages into the database file and fsync inside whichever commit crosses its threshold.
// The auto-checkpoint stays on at 32 MB as the WAL's bound.
import { createRequire } from 'node:module'
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads'
import { CommitEncoder, DECODER_SOURCE, type InsertRow } from './sqlite-commit-codec.js'
import { BURY_SQL } from './sqlite-dead-letters.js'
import { JOURNAL_DEFAULTS, JOURNAL_SOURCE, type JournalOptions } from './sqlite-journal.js'
import { INSERT_JOB_SQL, type Synchronous } from './sqlite-schema.js'

/** complete: delete the row; retry: store its new state; deadLetter: copy it to dead_letters, then delete it. */
export type WriterOp =
  | readonly [kind: 0, seq: number]
  | readonly [kind: 1, seq: number, attempts: number, notBefore: number, history: string]
  | readonly [kind: 2, seq: number, id: string, attempts: number, history: string, deadAt: number, reason: string]

export interface CommitResult {
  /** Positions (in `inserts`) of jobs not inserted: a job with that id was stored already. */
  skipped: number[]
  /** Dead letters that did not exist before (an id buried again replaces its dead letter). */
  newDeadLetters: number
}

export type CommitCallback = (err: Error | undefined, result: CommitResult) => void

interface Reply {
  n: number
  /** The commit's buffer, handed back for the next commit. */
  buffer?: ArrayBuffer
  skipped?: number[]
  newDeadLetters?: number
  error?: string
}

// CommonJS text run with `eval`: the spool's sources run untranspiled in tests, so no separate worker file.
// Inserts go first: an op may refer to a job inserted by the same commit (a dead letter before its row was written).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
${DECODER_SOURCE}
${JOURNAL_SOURCE}
const Database = require(workerData.sqlite)
const db = new Database(workerData.file, { fileMustExist: true })
db.pragma('synchronous = ' + workerData.synchronous)
db.pragma('journal_size_limit = 67108864')
// It appends and deletes near the ends of the table and its index: a small page cache is enough.
db.pragma('cache_size = -512')
db.pragma('wal_autocheckpoint = ' + (workerData.checkpointIntervalMs > 0 ? 8192 : 1000))
const checkpoints = workerData.checkpointIntervalMs > 0
  ? setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.checkpointIntervalMs)
  : undefined
const insert = db.prepare(workerData.insertSql)
const remove = db.prepare('DELETE FROM jobs WHERE seq = ?')
const removeMany = db.prepare('DELETE FROM jobs WHERE seq IN (' + Array(32).fill('?').join(', ') + ')')
const update = db.prepare('UPDATE jobs SET attempts = ?, not_before = ?, history = ? WHERE seq = ?')
const buried = db.prepare('SELECT 1 FROM dead_letters WHERE id = ?')
const bury = db.prepare(workerData.burySql)
const done = new Int32Array(workerData.done)
const replies = workerData.replies
const journal = createJournal(db, insert, workerData.journal)
// A window job (windowed) is journaled, not inserted (sqlite-journal.ts). An op on a journaled job either cancels
// it (a complete: nothing is ever written for it) or writes it to \`jobs\` first; either way this commit is
// journaled too, so that replay sees it.
const commit = db.transaction((c, data, now) => {
  const { inserts, windowed, ops } = c
  const skipped = []
  const fresh = new Set()
  for (let i = 0; i < inserts.length; i++) {
    if (windowed[i]) fresh.add(inserts[i][0])
    else if (insert.run(inserts[i]).changes === 0) skipped.push(i)
  }
  let touched = false
  const resolved = []
  let newDeadLetters = 0
  const completed = []
  for (const op of ops) {
    const seq = op[1]
    // A window job of this commit, or of an earlier one still journaled: cancelled by a complete, otherwise
    // written to \`jobs\` (as journaled) before the op applies to it.
    let journaled = fresh.has(seq)
    if (journaled) fresh.delete(seq)
    else if (journal.has(seq)) {
      journaled = true
      resolved.push(seq)
    }
    if (journaled) {
      touched = true
      if (op[0] === 0) continue
      insert.run(journal.params(seq, data))
    }
    if (op[0] === 0) completed.push(seq)
    else if (op[0] === 1) update.run(op[2], op[3], op[4], seq)
    else {
      if (buried.get(op[2]) === undefined) newDeadLetters++
      bury.run({ seq, attempts: op[3], history: op[4], deadAt: op[5], reason: op[6] })
      remove.run(seq)
    }
  }
  let i = 0
  for (; i + 32 <= completed.length; i += 32) removeMany.run(completed.slice(i, i + 32))
  for (; i < completed.length; i++) remove.run(completed[i])
  const n = fresh.size > 0 || touched ? journal.append(data, now) : 0
  return { skipped, newDeadLetters, n, fresh, resolved }
})
// A retirement that fails (the disk is full, say) leaves its rows journaled: the next one tries again, and the
// replay at the next start moves them in any case.
const retire = () => {
  try {
    journal.retire(Date.now(), false)
  } catch {}
}
const retirement = setInterval(retire, 250)
parentPort.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(checkpoints)
    clearInterval(retirement)
    try {
      journal.retire(Date.now(), true)
    } catch {}
    db.close()
    replies.close()
    parentPort.close()
    return
  }
  let reply
  try {
    const c = decodeCommit(m.commit, true)
    const now = Date.now()
    const data = Buffer.from(m.commit, 0, c.end)
    const r = commit(c, data, now)
    journal.committed(r.n, now, c.end, r.fresh.keys(), r.resolved)
    reply = { n: m.n, buffer: m.commit, skipped: r.skipped, newDeadLetters: r.newDeadLetters }
  } catch (err) {
    journal.aborted()
    reply = { n: m.n, buffer: m.commit, error: String((err && err.message) || err) }
  }
  // SQLite copied what it bound: the buffer goes back for the next commit.
  replies.postMessage(reply, [m.commit])
  Atomics.store(done, 0, m.n)
  Atomics.notify(done, 0)
  // After the answer: the acknowledgements need not wait for it.
  retire()
})
`
const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3')

export interface SpoolWriterOptions {
  file: string
  synchronous: Synchronous
  /** How often the thread checkpoints the WAL; 0: SQLite's auto-checkpoint inside commits instead. */
  checkpointIntervalMs: number
  /** How long window jobs stay journaled at most, and the journal's bounds (sqlite-journal.ts). */
  journal?: Partial<JournalOptions>
}

export class SpoolWriter {
  private readonly worker: Worker
  private readonly replies: MessagePort
  private readonly done = new Int32Array(new SharedArrayBuffer(4))
  private readonly callbacks = new Map<number, CommitCallback>()
  private readonly encoder = new CommitEncoder()
  private posted = 0
  private failure: Error | undefined
  private readonly exited: Promise<void>

  constructor(options: SpoolWriterOptions) {
    const { port1, port2 } = new MessageChannel()
    this.replies = port1
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        sqlite: sqlitePath,
        file: options.file,
        synchronous: options.synchronous,
        checkpointIntervalMs: options.checkpointIntervalMs,
        journal: { ...JOURNAL_DEFAULTS, ...options.journal },
        insertSql: INSERT_JOB_SQL,
        burySql: BURY_SQL,
        done: this.done.buffer,
        replies: port2,
      },
      transferList: [port2],
      // Its live set is a few statements; what it allocates (a commit's decoded rows) dies within the commit. A
      // small young generation keeps the thread's memory small (V8's default lets it grow to 48 MB).
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    })
    // The thread never keeps the process alive; the answers port does while a commit is outstanding (someone
    // awaits it).
    this.worker.unref()
    this.replies.unref()
    this.replies.on('message', (reply: Reply) => this.settle(reply))
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()))
    // An uncaught error comes across as a clone, which may have lost its message (SqliteError keeps only `code`).
    this.worker.once('error', (err: Error) =>
      this.fail(new Error(`the spool's writer thread failed: ${err.message || JSON.stringify(err)}`)),
    )
    this.worker.once('exit', (code) => this.fail(new Error(`the spool's writer thread exited (code ${code})`)))
  }

  /**
   * Posts one transaction; `done` is called with its result, in posting order. `journal`: the window's jobs may be
   * journaled rather than inserted (sqlite-journal.ts).
   */
  commit(inserts: readonly InsertRow[], ops: readonly WriterOp[], done: CommitCallback, journal = true): void {
    if (this.failure !== undefined) {
      const failure = this.failure
      queueMicrotask(() => done(failure, NO_RESULT))
      return
    }
    const n = ++this.posted
    if (this.callbacks.size === 0) this.replies.ref()
    this.callbacks.set(n, done)
    const commit = this.encoder.encode(inserts, ops, journal)
    this.worker.postMessage({ n, commit }, [commit])
  }

  /** Waits (blocking) until every posted commit is applied, and runs their callbacks. */
  drain(timeoutMs = 30_000): void {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      let reply = receiveMessageOnPort(this.replies)
      while (reply !== undefined) {
        this.settle(reply.message as Reply)
        reply = receiveMessageOnPort(this.replies)
      }
      if (this.callbacks.size === 0 || this.failure !== undefined) return
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`the spool's writer thread did not finish within ${timeoutMs} ms`)
      const applied = Atomics.load(this.done, 0)
      if (applied < this.posted) Atomics.wait(this.done, 0, applied, Math.min(left, 1000))
    }
  }

  async close(): Promise<void> {
    if (this.failure === undefined) {
      this.drain()
      this.worker.ref()
      this.worker.postMessage('stop')
    }
    await this.exited
    this.replies.close()
  }

  private settle(reply: Reply): void {
    if (reply.buffer !== undefined) this.encoder.recycle(reply.buffer)
    const done = this.callbacks.get(reply.n)
    if (done === undefined) return
    this.callbacks.delete(reply.n)
    if (this.callbacks.size === 0) this.replies.unref()
    if (reply.error !== undefined) done(new Error(reply.error), NO_RESULT)
    else done(undefined, { skipped: reply.skipped ?? [], newDeadLetters: reply.newDeadLetters ?? 0 })
  }

  /** The thread died (or was stopped): every commit not yet answered, and every later one, fails. */
  private fail(err: Error): void {
    // Answers it sent before it died still count.
    let reply = receiveMessageOnPort(this.replies)
    while (reply !== undefined) {
      this.settle(reply.message as Reply)
      reply = receiveMessageOnPort(this.replies)
    }
    this.failure ??= err
    const waiting = [...this.callbacks.values()]
    this.callbacks.clear()
    this.replies.unref()
    for (const done of waiting) done(this.failure, NO_RESULT)
  }
}

const NO_RESULT: CommitResult = { skipped: [], newDeadLetters: 0 }
