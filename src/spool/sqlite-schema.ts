// The SQLite spool file: opening it (WAL), its schema and version, and the mapping between rows and jobs.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import type { DeadLetter, Job, NewJob } from './spool.js'

/** Stored in PRAGMA user_version; bump it and add a migration step when the tables change. */
export const SCHEMA_VERSION = 2

export type Synchronous = 'NORMAL' | 'FULL'

/** Columns shared by `jobs` and `dead_letters`. Bodies are BLOBs; headers, history and properties JSON text. */
const JOB_COLUMNS = `
  id TEXT NOT NULL UNIQUE,
  rule TEXT NOT NULL,
  target TEXT NOT NULL,
  order_key TEXT,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  history TEXT NOT NULL,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  properties TEXT,
  method TEXT NOT NULL,
  url TEXT NOT NULL,
  headers TEXT NOT NULL,
  body BLOB NOT NULL,
  bytes INTEGER NOT NULL`

/** The column names, in the order of JOB_COLUMNS, for INSERT ... SELECT between the two tables. */
export const JOB_COLUMN_NAMES =
  'id, rule, target, order_key, created_at, attempts, not_before, history, topic, payload, qos, retain, ' +
  'received_at, properties, method, url, headers, body, bytes'

const MIGRATIONS: readonly string[] = [
  // 0 -> 1. `seq` (the rowid) is the enqueue order; `dl_seq` the order dead letters are listed in.
  `CREATE TABLE IF NOT EXISTS jobs (seq INTEGER PRIMARY KEY, ${JOB_COLUMNS});
   CREATE TABLE IF NOT EXISTS dead_letters (dl_seq INTEGER PRIMARY KEY, ${JOB_COLUMNS},
     dead_at INTEGER NOT NULL, reason TEXT NOT NULL);
   CREATE INDEX IF NOT EXISTS dead_letters_rule ON dead_letters (rule, dl_seq);`,
  // 1 -> 2. Group commits whose window jobs are not in `jobs` yet (sqlite-journal.ts), in commit order.
  `CREATE TABLE IF NOT EXISTS journal (n INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, data BLOB NOT NULL);`,
]

/**
 * Opens (creating if needed) the spool file in WAL mode.
 *
 * synchronous = NORMAL (the default): with WAL, a commit is in the OS once `COMMIT` returns, so it survives the
 * process being killed (kill -9, OOM, crash), which is what hookbridge promises. It is not fsynced at each
 * commit, so an OS crash or power loss may lose the last commits (the file stays consistent). FULL fsyncs the
 * WAL at every commit: survives power loss, costs one fsync per group commit.
 *
 * One hookbridge instance per data directory is the supported setup. A second process can open the same file
 * (WAL allows it and writes are serialised by SQLite's lock), but each process keeps its own in-memory index of
 * pending jobs, so both would deliver the same jobs.
 */
export function openSpoolDatabase(file: string, synchronous: Synchronous): Database.Database {
  mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma(`synchronous = ${synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`)
    // After a checkpoint, shrink a WAL that a burst made large.
    db.pragma('journal_size_limit = 67108864')
    migrate(db, file)
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

function migrate(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `Spool file ${file} has schema version ${version}, newer than this hookbridge understands (${SCHEMA_VERSION}). ` +
        'Upgrade hookbridge or use another data directory.',
    )
  }
  db.transaction(() => {
    for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v])
    db.pragma(`user_version = ${SCHEMA_VERSION}`)
  })()
}

/** A row of `jobs` (and, with dead_at and reason, of `dead_letters`). */
export interface JobRow {
  seq: number
  id: string
  rule: string
  target: string
  order_key: string | null
  created_at: number
  attempts: number
  not_before: number
  history: string
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: number
  received_at: number
  properties: string | null
  method: string
  url: string
  headers: string
  body: Buffer
  bytes: number
}

export interface DeadLetterRow extends Omit<JobRow, 'seq'> {
  dl_seq: number
  dead_at: number
  reason: string
}

/** Inserts a new job with the given seq; no change when a job with its id is stored already. */
export const INSERT_JOB_SQL = `INSERT INTO jobs (seq, ${JOB_COLUMN_NAMES})
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO NOTHING`

export type InsertJobParams = [
  seq: number,
  id: string,
  rule: string,
  target: string,
  orderKey: string | null,
  createdAt: number,
  attempts: number,
  notBefore: number,
  history: string,
  topic: string,
  payload: Buffer,
  qos: number,
  retain: number,
  receivedAt: number,
  properties: string | null,
  method: string,
  url: string,
  headers: string,
  body: Buffer,
  bytes: number,
]

/**
 * Positional parameters for inserting a job (positional: binding 19 named ones cost more), as the writer thread binds
 * them. The commit codec writes the same values straight into its buffer; its test holds it to this.
 */
export function jobParams(
  seq: number,
  job: NewJob,
  createdAt: number,
  bytes: number,
  state?: { attempts: number; notBefore: number; history: string },
): InsertJobParams {
  const { message, request } = job
  return [
    seq,
    job.id,
    job.rule,
    job.target,
    job.orderKey,
    createdAt,
    state?.attempts ?? 0,
    state?.notBefore ?? createdAt,
    state?.history ?? '[]',
    message.topic,
    message.payload,
    message.qos,
    message.retain ? 1 : 0,
    message.receivedAt,
    message.properties === undefined ? null : JSON.stringify(message.properties),
    request.method,
    request.url,
    JSON.stringify(request.headers),
    request.body,
    bytes,
  ]
}

/** Count, bytes and highest seq of the stored jobs: one pass over the table, nothing kept (read at open). */
export function pendingTotals(db: Database.Database): { count: number; bytes: number; maxSeq: number } {
  const row = db
    .prepare<[], { count: number; bytes: number; maxSeq: number | null }>(
      'SELECT count(*) AS count, total(bytes) AS bytes, max(seq) AS maxSeq FROM jobs',
    )
    .get()!
  return { count: row.count, bytes: row.bytes, maxSeq: row.maxSeq ?? 0 }
}

/** The columns a Job is made of, apart from its scheduling state (attempts, notBefore, history). */
export type JobContentRow = Omit<JobRow, 'seq' | 'attempts' | 'not_before' | 'history' | 'bytes'>

export function rowToJob(row: JobContentRow, state: Pick<Job, 'attempts' | 'notBefore' | 'history'>): Job {
  const message: Job['message'] = {
    topic: row.topic,
    payload: row.payload,
    qos: row.qos,
    retain: row.retain === 1,
    receivedAt: row.received_at,
  }
  if (row.properties !== null) message.properties = JSON.parse(row.properties)
  return {
    id: row.id,
    rule: row.rule,
    target: row.target,
    orderKey: row.order_key,
    message,
    request: { method: row.method, url: row.url, headers: JSON.parse(row.headers), body: row.body },
    createdAt: row.created_at,
    attempts: state.attempts,
    notBefore: state.notBefore,
    history: state.history,
  }
}

export function rowToDeadLetter(row: DeadLetterRow): DeadLetter {
  const job = rowToJob(row, { attempts: row.attempts, notBefore: row.not_before, history: JSON.parse(row.history) })
  return Object.assign(job, { deadAt: row.dead_at, reason: row.reason })
}
