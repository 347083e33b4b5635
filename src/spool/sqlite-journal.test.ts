// The journal (sqlite-journal.ts): window jobs stored with their group commit, not a row each; a row only for a
// job that outlives its journal row or has something happen to it; replay of what a crashed run left journaled.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../../test/helpers/wait.js'
import type { Spool } from './spool.js'
import { failed, ids, newJob } from './spool-fixtures.js'
import { CommitEncoder, type InsertRow } from './sqlite-commit-codec.js'
import { journaledJobs, replayJournal, storedJobs } from './sqlite-journal.js'
import { jobParams, openSpoolDatabase } from './sqlite-schema.js'
import { createSqliteSpool, type SqliteSpoolOptions } from './sqlite-spool.js'

const dir = mkdtempSync(join(tmpdir(), 'hookbridge-journal-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const newFile = () => join(dir, `spool-${++files}.db`)

describe('sqlite spool journal', () => {
  let spool: Spool | undefined
  let reader: Database.Database | undefined
  afterEach(async () => {
    reader?.close()
    reader = undefined
    await spool?.close()
    spool = undefined
  })

  function open(options: Partial<SqliteSpoolOptions> = {}) {
    const file = newFile()
    spool = createSqliteSpool({ file, groupCommitMs: 0, ...options })
    const db = new Database(file, { readonly: true })
    reader = db
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
    return { spool, file, rows: () => count('jobs'), journal: () => count('journal'), stored: () => storedJobs(db) }
  }

  it('stores the window jobs of a commit as one journal row, and never a row for a job completed before retiring', async () => {
    const { spool: first, file, rows, journal, stored } = open()
    const jobs = [newJob(), newJob(), newJob()]
    await first.enqueue(jobs)
    expect(rows()).toBe(0)
    expect(journal()).toBe(1)
    expect(ids(stored())).toEqual(ids(jobs))
    for (const job of first.lease(2, Date.now())) first.complete(job.id)
    // The completes go with the next enqueue's commit, which is journaled too (it cancels journaled jobs).
    const later = newJob()
    await first.enqueue([later])
    expect(rows()).toBe(0)
    expect(journal()).toBe(2)
    expect(ids(stored())).toEqual([jobs[2]!.id, later.id])
    // Closing retires the journal: what is left becomes rows.
    await first.close()
    expect(rows()).toBe(2)
    expect(journal()).toBe(0)
    spool = createSqliteSpool({ file })
    expect(ids(spool.lease(10, Date.now()))).toEqual([jobs[2]!.id, later.id])
  })

  it('writes the row of a journaled job that is retried or dead-lettered, with its state', async () => {
    const { spool, rows, stored } = open({ lazyCommitMs: 0 })
    const [retried, buried, kept] = [newJob(), newJob(), newJob()]
    await spool.enqueue([retried, buried, kept])
    expect(rows()).toBe(0)
    spool.lease(2, Date.now())
    spool.retry(retried.id, Date.now() + 60_000, failed(503))
    spool.deadLetter(buried.id, failed(400), 'gave up')
    await waitFor(() => rows() === 1, { timeoutMs: 10_000, what: 'the retried job to get its row' })
    const row = reader!.prepare('SELECT id, attempts FROM jobs').get()
    expect(row).toEqual({ id: retried.id, attempts: 1 })
    expect(ids(spool.listDeadLetters())).toEqual([buried.id])
    expect(ids(stored())).toEqual([retried.id, kept.id])
    expect(journaledJobs(reader!).map((params) => params[1])).toEqual([kept.id])
  })

  it('writes rows at once, not journal rows, while a job is being retried', async () => {
    const { spool, rows, journal } = open({ lazyCommitMs: 0 })
    const first = newJob()
    await spool.enqueue([first])
    spool.lease(1, Date.now())
    spool.retry(first.id, Date.now() + 60_000, failed(503))
    await spool.enqueue([newJob(), newJob()])
    expect(rows()).toBe(3)
    // The first commit's journal row stays until it is the oldest and done: here, at once.
    await waitFor(() => journal() === 0, { timeoutMs: 10_000, what: 'the done journal row to go' })
  })

  it('retires a journal row once it is older than retireAfterMs: its jobs left become rows', async () => {
    const { spool: open50, rows, journal, stored } = open({ journal: { retireAfterMs: 50 } })
    const jobs = [newJob(), newJob()]
    await open50.enqueue(jobs)
    await waitFor(() => journal() === 0, { timeoutMs: 10_000, what: 'the journal row to be retired' })
    expect(rows()).toBe(2)
    expect(ids(stored())).toEqual(ids(jobs))
    // A complete now deletes the row, and writes no journal row.
    for (const job of open50.lease(1, Date.now())) open50.complete(job.id)
    await open50.close()
    expect(ids(storedJobs(reader!))).toEqual([jobs[1]!.id])
  })
})

describe('journal replay', () => {
  /** A job as the spool hands it to a commit: `windowed` jobs carry an entry (their state). */
  const insertRow = (seq: number, windowed: boolean): InsertRow => ({
    seq,
    job: newJob(),
    createdAt: 1_700_000_000_000,
    bytes: 10,
    ...(windowed && { entry: { attempts: 0, notBefore: 0, history: [] } }),
  })

  it('moves what a run left journaled into jobs, minus what its later journaled commits touched', () => {
    const file = newFile()
    const db = openSpoolDatabase(file, 'NORMAL')
    try {
      const encoder = new CommitEncoder()
      const journal = db.prepare('INSERT INTO journal (n, created_at, data) VALUES (?, 0, ?)')
      const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((seq) => insertRow(seq, seq !== 4)) as [
        InsertRow,
        InsertRow,
        InsertRow,
        InsertRow,
        InsertRow,
      ]
      // Commit 1: a, b, c journaled; d spilled (its row written by the commit itself).
      journal.run(1, Buffer.from(encoder.encode([a, b, c, d], [])))
      db.prepare(`INSERT INTO jobs VALUES (${Array(20).fill('?').join(', ')})`).run(
        jobParams(d.seq, d.job, d.createdAt, d.bytes),
      )
      // Commit 2: a completed (never written), b retried (its row written then, by that commit), e journaled.
      db.prepare(`INSERT INTO jobs VALUES (${Array(20).fill('?').join(', ')})`).run(
        jobParams(b.seq, b.job, b.createdAt, b.bytes, { attempts: 1, notBefore: 5, history: '[]' }),
      )
      journal.run(
        2,
        Buffer.from(
          encoder.encode(
            [e],
            [
              [0, 1],
              [1, 2, 1, 5, '[]'],
            ],
          ),
        ),
      )
      expect(journaledJobs(db).map((params) => params[0])).toEqual([3, 5])

      expect(replayJournal(db)).toBe(2)
      const rows = db.prepare('SELECT seq, id, attempts FROM jobs ORDER BY seq').all()
      expect(rows).toEqual([
        { seq: 2, id: b.job.id, attempts: 1 },
        { seq: 3, id: c.job.id, attempts: 0 },
        { seq: 4, id: d.job.id, attempts: 0 },
        { seq: 5, id: e.job.id, attempts: 0 },
      ])
      expect(db.prepare('SELECT count(*) AS n FROM journal').get()).toEqual({ n: 0 })
      // Replaying again changes nothing.
      expect(replayJournal(db)).toBe(0)
    } finally {
      db.close()
    }
  })

  it('upgrades a version 1 file (before the journal) and keeps its jobs', async () => {
    const file = newFile()
    const db = openSpoolDatabase(file, 'NORMAL')
    const old = insertRow(1, false)
    db.exec('DROP TABLE journal')
    db.pragma('user_version = 1')
    db.prepare(`INSERT INTO jobs VALUES (${Array(20).fill('?').join(', ')})`).run(
      jobParams(old.seq, old.job, old.createdAt, old.bytes),
    )
    db.close()
    const spool = createSqliteSpool({ file })
    try {
      expect(ids(spool.lease(10, Date.now()))).toEqual([old.job.id])
      await spool.enqueue([newJob()])
    } finally {
      await spool.close()
    }
    const reopened = new Database(file, { readonly: true })
    try {
      expect(reopened.pragma('user_version', { simple: true })).toBe(2)
      expect(storedJobs(reopened)).toHaveLength(2)
    } finally {
      reopened.close()
    }
  })

  it('refuses to open a file whose journal it cannot read, saying which file and why', () => {
    const file = newFile()
    const db = openSpoolDatabase(file, 'NORMAL')
    const data = Buffer.from(new CommitEncoder().encode([insertRow(1, true)], []))
    data[0] = 7
    db.prepare('INSERT INTO journal (n, created_at, data) VALUES (1, 0, ?)').run(data)
    db.close()
    expect(() => createSqliteSpool({ file })).toThrow(
      `Spool file ${file}: its journal could not be replayed: a spool commit in format 7`,
    )
  })

  it("brings a crashed run's journaled jobs back when the spool opens", async () => {
    const file = newFile()
    const db = openSpoolDatabase(file, 'NORMAL')
    const jobs = [insertRow(1, true), insertRow(2, true)]
    db.prepare('INSERT INTO journal (n, created_at, data) VALUES (1, 0, ?)').run(
      Buffer.from(new CommitEncoder().encode(jobs, [])),
    )
    db.close()
    const spool = createSqliteSpool({ file })
    try {
      expect(ids(spool.lease(10, Date.now()))).toEqual(jobs.map((row) => row.job.id))
    } finally {
      await spool.close()
    }
  })
})
