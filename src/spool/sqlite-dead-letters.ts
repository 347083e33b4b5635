// The `dead_letters` table of the SQLite spool: moving jobs in and out, listing and purging. Callers run these
// inside their transactions; nothing here buffers.
import type Database from 'better-sqlite3'
import type { AttemptRecord, DeadLetter, DeadLetterQuery } from './spool.js'
import { type DeadLetterRow, JOB_COLUMN_NAMES, rowToDeadLetter } from './sqlite-schema.js'

export interface BuryParams {
  seq: number
  attempts: number
  /** JSON of the full history, the last attempt included. */
  history: string
  deadAt: number
  reason: string
}

/** What the in-memory index needs about a job that came back from the dead letters. */
export interface Exhumed {
  seq: number
  rule: string
  orderKey: string | null
  history: AttemptRecord[]
  bytes: number
}

/**
 * Moves job `@seq` to the dead letters (BuryParams), replacing a dead letter with its id. The job's columns are
 * copied inside SQLite: payload and body never travel through JavaScript.
 */
export const BURY_SQL = `INSERT OR REPLACE INTO dead_letters (${JOB_COLUMN_NAMES}, dead_at, reason)
  SELECT id, rule, target, order_key, created_at, @attempts, not_before, @history, topic, payload, qos, retain,
    received_at, properties, method, url, headers, body, bytes, @deadAt, @reason
  FROM jobs WHERE seq = @seq`

export function createDeadLetterStore(db: Database.Database) {
  const jobColumns = JOB_COLUMN_NAMES
  const statements = {
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM dead_letters'),
    exists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM dead_letters WHERE id = ?'),
    get: db.prepare<[string], DeadLetterRow>('SELECT * FROM dead_letters WHERE id = ?'),
    position: db.prepare<[string], { dl_seq: number }>('SELECT dl_seq FROM dead_letters WHERE id = ?'),
    list: db.prepare<[number, number], DeadLetterRow>(
      'SELECT * FROM dead_letters WHERE dl_seq > ? ORDER BY dl_seq LIMIT ?',
    ),
    listRule: db.prepare<[string, number, number], DeadLetterRow>(
      'SELECT * FROM dead_letters WHERE rule = ? AND dl_seq > ? ORDER BY dl_seq LIMIT ?',
    ),
    buriedJob: db.prepare<[string], { rule: string; order_key: string | null; history: string; bytes: number }>(
      'SELECT rule, order_key, history, bytes FROM dead_letters WHERE id = ?',
    ),
    exhume: db.prepare<{ id: string; now: number; seq: number }>(
      `INSERT INTO jobs (seq, ${jobColumns})
       SELECT @seq, id, rule, target, order_key, @now, 0, @now, history, topic, payload, qos, retain,
         received_at, properties, method, url, headers, body, bytes
       FROM dead_letters WHERE id = @id
       ON CONFLICT (id) DO NOTHING`,
    ),
    delete: db.prepare<[string]>('DELETE FROM dead_letters WHERE id = ?'),
    deleteInRule: db.prepare<[string, string]>('DELETE FROM dead_letters WHERE id = ? AND rule = ?'),
    deleteRule: db.prepare<[string]>('DELETE FROM dead_letters WHERE rule = ?'),
    deleteAll: db.prepare('DELETE FROM dead_letters'),
  }

  return {
    count: (): number => statements.count.get()!.n,

    get(id: string): DeadLetter | undefined {
      const row = statements.get.get(id)
      return row === undefined ? undefined : rowToDeadLetter(row)
    },

    list(query: DeadLetterQuery): DeadLetter[] {
      let after = 0
      if (query.after !== undefined) {
        // An unknown `after` id yields nothing rather than restarting from the beginning.
        const position = statements.position.get(query.after)
        if (position === undefined) return []
        after = position.dl_seq
      }
      const limit = query.limit ?? -1
      const rows =
        query.rule === undefined ? statements.list.all(after, limit) : statements.listRule.all(query.rule, after, limit)
      return rows.map(rowToDeadLetter)
    },

    /** Moves a pending job to the dead letters. True when no dead letter had its id yet. */
    /**
     * Moves a dead letter back to the pending jobs as job `seq` (attempts reset, due `now`); undefined if not
     * possible (no such dead letter, or a job with its id is pending).
     */
    exhume(id: string, now: number, seq: number): Exhumed | undefined {
      const buried = statements.buriedJob.get(id)
      if (buried === undefined) return undefined
      const result = statements.exhume.run({ id, now, seq })
      if (result.changes === 0) return undefined
      statements.delete.run(id)
      return {
        seq,
        rule: buried.rule,
        orderKey: buried.order_key,
        history: JSON.parse(buried.history),
        bytes: buried.bytes,
      }
    },

    purge(ids: readonly string[] | undefined, rule: string | undefined): number {
      if (ids !== undefined) {
        let count = 0
        for (const id of ids) {
          const result = rule === undefined ? statements.delete.run(id) : statements.deleteInRule.run(id, rule)
          count += result.changes
        }
        return count
      }
      return (rule === undefined ? statements.deleteAll.run() : statements.deleteRule.run(rule)).changes
    },
  }
}

export type DeadLetterStore = ReturnType<typeof createDeadLetterStore>
