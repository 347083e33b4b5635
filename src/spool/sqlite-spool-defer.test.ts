// Deferred writes (deferWriteMs): an enqueue waits in memory for its jobs' deliveries; delivered, it resolves with
// nothing written; failing, dead-lettered, duplicated, outside the window, out of time or closed, it is written.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { runSpoolSuite } from './spool.case.js'
import type { Spool } from './spool.js'
import { failed, ids, newJob } from './spool-fixtures.js'
import { storedJobs } from './sqlite-journal.js'
import { createSqliteSpool, type SqliteSpoolOptions } from './sqlite-spool.js'

const dir = mkdtempSync(join(tmpdir(), 'hookbridge-spool-defer-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const newFile = () => join(dir, `spool-${++files}.db`)

// Every behaviour of a spool holds with deferred writes too (enqueues not delivered resolve 5 ms later).
runSpoolSuite('sqlite spool, deferred writes', async () => {
  const file = newFile()
  return {
    spool: createSqliteSpool({ file, deferWriteMs: 5 }),
    reopen: async () => createSqliteSpool({ file, deferWriteMs: 5 }),
  }
})

/** Whether the promise has settled, looked at after the pending callbacks of this turn have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  promise.then(
    () => (done = true),
    () => (done = true),
  )
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe('sqlite spool, deferred writes', () => {
  let spool: Spool | undefined
  let reader: Database.Database | undefined
  afterEach(async () => {
    reader?.close()
    reader = undefined
    await spool?.close()
    spool = undefined
  })

  // A minute: any enqueue that resolves in these tests did so for a reason other than its time being up.
  function open(options: Partial<SqliteSpoolOptions> = {}): { spool: Spool; file: string; rows: () => number } {
    const file = newFile()
    spool = createSqliteSpool({ file, groupCommitMs: 0, deferWriteMs: 60_000, ...options })
    const db = new Database(file, { readonly: true })
    reader = db
    return { spool, file, rows: () => storedJobs(db).length }
  }

  async function reopenDepth(file: string): Promise<number> {
    await spool!.close()
    spool = createSqliteSpool({ file })
    return spool.stats(Date.now()).depth
  }

  it('resolves an enqueue once all its jobs are delivered, and writes none of them', async () => {
    const { spool, file, rows } = open()
    const [a, b] = [newJob(), newJob()]
    const enqueued = spool.enqueue([a, b])
    expect(ids(spool.lease(10, Date.now()))).toEqual([a.id, b.id])
    spool.complete(a.id)
    expect(await settled(enqueued)).toBe(false)
    spool.complete(b.id)
    expect(await settled(enqueued)).toBe(true)
    await enqueued
    expect(rows()).toBe(0)
    expect(await reopenDepth(file)).toBe(0)
  })

  it('writes an enqueue not delivered within deferWriteMs', async () => {
    const { spool, file, rows } = open({ deferWriteMs: 30 })
    const job = newJob()
    const startedAt = Date.now()
    await spool.enqueue([job])
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(25)
    expect(rows()).toBe(1)
    expect(await reopenDepth(file)).toBe(1)
  })

  it('writes every waiting enqueue once an attempt fails, and defers none while a job is retried', async () => {
    const { spool: opened, file, rows } = open()
    const [failing, other, later] = [newJob(), newJob(), newJob()]
    const first = opened.enqueue([failing])
    const second = opened.enqueue([other])
    expect(ids(opened.lease(1, Date.now()))).toEqual([failing.id])
    opened.retry(failing.id, Date.now() + 60_000, failed(503))
    await Promise.all([first, second])
    expect(rows()).toBe(2)
    await opened.enqueue([later])
    expect(rows()).toBe(3)
    await opened.close()
    spool = createSqliteSpool({ file })
    expect(ids(spool.lease(10, Date.now()))).toEqual([other.id, later.id])
    expect(spool.lease(10, Date.now() + 120_000)).toMatchObject([{ id: failing.id, attempts: 1 }])
  })

  it('writes a dead-lettered job with its row, in one commit', async () => {
    const { spool } = open()
    const job = newJob()
    const enqueued = spool.enqueue([job])
    spool.lease(1, Date.now())
    spool.deadLetter(job.id, failed(400), 'HTTP 400')
    await enqueued
    expect(spool.listDeadLetters()).toMatchObject([{ id: job.id, reason: 'HTTP 400', attempts: 1 }])
  })

  it('writes a waiting job whose message comes again, and resolves both enqueues', async () => {
    const { spool, rows } = open()
    const job = newJob()
    const first = spool.enqueue([job])
    const again = spool.enqueue([{ ...job }])
    await Promise.all([first, again])
    expect(rows()).toBe(1)
    expect(spool.stats(Date.now()).depth).toBe(1)
  })

  it('writes at once a batch with jobs past the window (they are in the file only)', async () => {
    const { spool, rows } = open({ windowJobs: 2, outageWindowJobs: 2 })
    await Promise.all([spool.enqueue([newJob(), newJob(), newJob()])])
    expect(rows()).toBe(3)
  })

  it('writes what waits when it closes', async () => {
    const { spool: opened, file } = open()
    const job = newJob()
    const enqueued = opened.enqueue([job])
    await opened.close()
    await enqueued
    spool = createSqliteSpool({ file })
    expect(ids(spool.lease(10, Date.now()))).toEqual([job.id])
  })
})
