// The journal: how a group commit stores the jobs of the spool's window without a row per job. In a burst nearly
// every job is inserted and deleted a few seconds later; a row per job costs the writer thread an insert and a
// delete with their index updates (~7 µs per job, measured apart). Instead, a commit with window jobs stores its
// whole buffer (sqlite-commit-codec.ts) as one row of `journal`, in the same transaction as the rest of the commit.
// A window job stays journaled until it is completed (then nothing is ever written for it), or until something
// else happens to it (a retry or a dead letter: its row goes to `jobs` first), or until its journal row is retired.
//
// Retiring: journal rows go oldest first. One whose jobs are all done is deleted; one older than `retireAfterMs`
// (or past the bounds below) has its remaining jobs inserted into `jobs` and is deleted, in one transaction.
// Replay, when the file is opened: the jobs each journal row holds, minus those that a later journaled commit
// touched (any op on a journaled job either cancelled it or wrote it to `jobs`), go to `jobs`; then the journal is
// emptied. A commit that touches a journaled job is itself journaled, so replay always sees what cancelled a job.
//
// The writer thread runs eval'd CommonJS (sqlite-writer.ts): JOURNAL_SOURCE is that part of it as text.
import type Database from 'better-sqlite3'
import { DECODER_SOURCE } from './sqlite-commit-codec.js'
import { INSERT_JOB_SQL } from './sqlite-schema.js'

/** Defaults of the writer's journal; the spool passes them on (sqlite-spool-options.ts). */
export const JOURNAL_DEFAULTS = {
  /** A journal row's remaining jobs go to `jobs` once it is this old. */
  retireAfterMs: 5_000,
  /** At most this many journal rows (each one group commit), and this many bytes in them. */
  maxRows: 1_000,
  maxBytes: 64 * 1024 * 1024,
}

export type JournalOptions = typeof JOURNAL_DEFAULTS

/** Journal rows with jobs left that one retirement reads back at most (the writer retires after every commit). */
const RETIRE_BATCH = 4

/**
 * Defines `createJournal(db, insert, options)` in the writer thread: `{ has, params, append, committed, aborted,
 * retire }`. Expects decodeCommit (DECODER_SOURCE) in scope.
 */
export const JOURNAL_SOURCE = `
function createJournal(db, insert, options) {
  const append = db.prepare('INSERT INTO journal (n, created_at, data) VALUES (?, ?, ?)')
  const read = db.prepare('SELECT data FROM journal WHERE n = ?').pluck()
  const remove = db.prepare('DELETE FROM journal WHERE n = ?')
  let last = db.prepare('SELECT max(n) FROM journal').pluck().get() || 0
  // Journal rows oldest first: { n, createdAt, bytes, live (its jobs still journaled) }.
  const rows = []
  let head = 0
  let bytes = 0
  // seq -> its journal row, for every job still journaled.
  const journaled = new Map()
  // The last journal row read back within the current commit (n 0: the commit itself): { n, params (seq -> its
  // INSERT_JOB_SQL parameters) }. One only, so the thread's memory stays small; ops come in about seq order.
  let readBack

  function paramsOf(n, data) {
    if (readBack === undefined || readBack.n !== n) {
      const params = new Map()
      const { inserts, windowed } = decodeCommit(data ?? read.get(n), false)
      for (let i = 0; i < inserts.length; i++) if (windowed[i]) params.set(inserts[i][0], inserts[i])
      readBack = { n, params }
    }
    return readBack.params
  }

  return {
    /** Whether the job is journaled (not in \`jobs\`). */
    has(seq) {
      return journaled.has(seq)
    },
    /** A window job's INSERT_JOB_SQL parameters: from \`data\` (the commit being written) or its journal row. */
    params(seq, data) {
      const row = journaled.get(seq)
      return row === undefined ? paramsOf(0, data).get(seq) : paramsOf(row.n).get(seq)
    },
    /** Stores a commit's buffer (in the commit's transaction); its journal number. */
    append(data, now) {
      append.run(++last, now, data)
      return last
    },
    /** After the commit's transaction: \`seqs\` are journaled in row n; \`done\` are journaled no more. */
    committed(n, now, size, seqs, done) {
      readBack = undefined
      if (n !== 0) {
        const row = { n, createdAt: now, bytes: size, live: 0 }
        for (const seq of seqs) {
          journaled.set(seq, row)
          row.live++
        }
        rows.push(row)
        bytes += size
      }
      for (const seq of done) {
        const row = journaled.get(seq)
        if (row === undefined) continue
        journaled.delete(seq)
        row.live--
      }
    },
    /** A commit failed: forget what it read back. */
    aborted() {
      readBack = undefined
    },
    /**
     * Retires the oldest rows that are done, too old or past the bounds (all of them with \`all\`). At most
     * RETIRE_BATCH rows with jobs left are read back per call, one at a time, so that the thread's memory stays small.
     */
    retire(now, all) {
      const due = []
      let left = rows.length - head
      let leftBytes = bytes
      let reads = 0
      for (let i = head; i < rows.length; i++) {
        const row = rows[i]
        if (row.live > 0) {
          const old = now - row.createdAt >= options.retireAfterMs || left > options.maxRows || leftBytes > options.maxBytes
          if (!all && (!old || reads === ${RETIRE_BATCH})) break
          reads++
        }
        due.push(row)
        left--
        leftBytes -= row.bytes
      }
      if (due.length === 0) return
      const written = []
      db.transaction(() => {
        for (const row of due) {
          if (row.live > 0) {
            const { inserts, windowed } = decodeCommit(read.get(row.n), false)
            for (let i = 0; i < inserts.length; i++) {
              const seq = inserts[i][0]
              if (!windowed[i] || journaled.get(seq) !== row) continue
              insert.run(inserts[i])
              written.push(seq)
            }
          }
          remove.run(row.n)
        }
      })()
      for (const seq of written) journaled.delete(seq)
      head += due.length
      for (const row of due) bytes -= row.bytes
      if (head > 1024 && head * 2 > rows.length) {
        rows.splice(0, head)
        head = 0
      }
    },
  }
}
`

const decodeCommit = new Function(`${DECODER_SOURCE}; return decodeCommit`)() as (
  data: Uint8Array,
  seqsOnly: boolean,
) => {
  inserts: unknown[][]
  windowed: boolean[]
  ops: unknown[][]
}

/** The jobs the journal holds and no later journaled commit touched, as INSERT_JOB_SQL's parameters, seq first. */
export function journaledJobs(db: Database.Database): unknown[][] {
  const rows = db.prepare<[], Buffer>('SELECT data FROM journal ORDER BY n').pluck().all()
  const jobs = new Map<number, unknown[]>()
  for (const data of rows) {
    const { inserts, windowed, ops } = decodeCommit(data, false)
    for (let i = 0; i < inserts.length; i++) if (windowed[i]) jobs.set(inserts[i]![0] as number, inserts[i]!)
    for (const op of ops) jobs.delete(op[1] as number)
  }
  return [...jobs.values()]
}

/** Moves the journaled jobs into `jobs` and empties the journal (when the file is opened); how many moved. */
export function replayJournal(db: Database.Database): number {
  const jobs = journaledJobs(db)
  const insert = db.prepare(INSERT_JOB_SQL)
  db.transaction(() => {
    for (const params of jobs) insert.run(params)
    db.prepare('DELETE FROM journal').run()
  })()
  return jobs.length
}

/** Every pending job the file holds, in `jobs` or journaled, by seq (for inspecting a file beside or after a run). */
export function storedJobs(db: Database.Database): { seq: number; id: string; payload: Buffer }[] {
  const rows = db.prepare<[], { seq: number; id: string; payload: Buffer }>('SELECT seq, id, payload FROM jobs').all()
  for (const params of journaledJobs(db)) {
    rows.push({ seq: params[0] as number, id: params[1] as string, payload: params[10] as Buffer })
  }
  return rows.sort((a, b) => a.seq - b.seq)
}
