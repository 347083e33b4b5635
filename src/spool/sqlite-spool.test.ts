import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { runSpoolSuite } from './spool.case.js'
import type { Spool } from './spool.js'
import { failed, ids, newJob } from './spool-fixtures.js'
import { storedJobs } from './sqlite-journal.js'
import { createSqliteSpool } from './sqlite-spool.js'

const dir = mkdtempSync(join(tmpdir(), 'hookbridge-spool-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const newFile = () => join(dir, `spool-${++files}.db`)

runSpoolSuite('sqlite spool', async () => {
  const file = newFile()
  return { spool: createSqliteSpool({ file }), reopen: async () => createSqliteSpool({ file }) }
})

describe('sqlite spool', () => {
  let spool: Spool | undefined
  afterEach(() => spool?.close())

  it('commits a group when maxBatch is reached; enqueues resolve once committed, jobs are leasable before', async () => {
    const file = newFile()
    spool = createSqliteSpool({ file, groupCommitMs: 60_000, maxBatch: 3 })
    const reader = new Database(file, { readonly: true })
    const rows = () => storedJobs(reader).length
    try {
      let resolved = 0
      const first = spool.enqueue([newJob(), newJob()]).then(() => resolved++)
      await new Promise((resolve) => setImmediate(resolve))
      expect(resolved).toBe(0)
      expect(rows()).toBe(0)
      // Delivered while the commit waits; acknowledged (resolved) only once it is done.
      expect(spool.lease(10, Date.now())).toHaveLength(2)
      const second = spool.enqueue([newJob()]).then(() => resolved++)
      await Promise.all([first, second])
      expect(resolved).toBe(2)
      expect(rows()).toBe(3)
      expect(spool.lease(10, Date.now())).toHaveLength(1)
    } finally {
      reader.close()
    }
  })

  it('never writes a job delivered before its commit, and still resolves its enqueue', async () => {
    const file = newFile()
    spool = createSqliteSpool({ file, groupCommitMs: 60_000, maxBatch: 3 })
    const [done, failing, later] = [newJob(), newJob(), newJob()]
    const first = spool.enqueue([done, failing])
    expect(ids(spool.lease(10, Date.now()))).toEqual([done.id, failing.id])
    spool.complete(done.id)
    spool.retry(failing.id, Date.now() + 60_000, failed(503))
    await Promise.all([first, spool.enqueue([later])])
    await spool.close()
    spool = createSqliteSpool({ file })
    expect(spool.stats(Date.now()).depth).toBe(2)
    expect(ids(spool.lease(10, Date.now()))).toEqual([later.id])
    expect(ids(spool.lease(10, Date.now() + 120_000))).toEqual([failing.id])
  })

  it('fails the enqueues of a commit that fails, and forgets their jobs unless one is in delivery', async () => {
    const file = newFile()
    spool = createSqliteSpool({ file, groupCommitMs: 0, maxBatch: 3 })
    const [stored, inDelivery, waiting, third] = [newJob(), newJob(), newJob(), newJob()]
    await spool.enqueue([stored])
    const first = spool.enqueue([inDelivery, waiting])
    expect(ids(spool.lease(2, Date.now()))).toEqual([stored.id, inDelivery.id])
    const db = new Database(file)
    db.exec('DROP TABLE jobs; DROP TABLE journal')
    db.close()
    const results = await Promise.allSettled([first, spool.enqueue([third])])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/no such table: (jobs|journal)/)
    // Their messages are not acknowledged, so the broker sends them again; the job in delivery may finish.
    expect(spool.stats(Date.now())).toMatchObject({ depth: 2, leased: 2 })
    spool.release(stored.id)
    expect(ids(spool.lease(10, Date.now()))).toEqual([stored.id])
  })

  it('commits an enqueue at once (groupCommitMs 0) and lets a complete wait for the next commit', async () => {
    const file = newFile()
    spool = createSqliteSpool({ file, groupCommitMs: 0, lazyCommitMs: 60_000 })
    const reader = new Database(file, { readonly: true })
    const rows = () => storedJobs(reader).length
    try {
      const [first, second] = [newJob(), newJob()]
      await spool.enqueue([first])
      expect(rows()).toBe(1)
      expect(spool.lease(10, Date.now()).map((j) => j.id)).toEqual([first.id])
      spool.complete(first.id)
      // Nobody waits for a complete: no commit of its own, so the row is still there...
      await new Promise((resolve) => setImmediate(resolve))
      await new Promise((resolve) => setImmediate(resolve))
      expect(rows()).toBe(1)
      // ...until the next enqueue's commit takes it along.
      await spool.enqueue([second])
      expect(rows()).toBe(1)
      expect(spool.lease(10, Date.now()).map((j) => j.id)).toEqual([second.id])
    } finally {
      reader.close()
    }
  })

  it('refuses a spool file written by a newer schema', () => {
    const file = newFile()
    const db = new Database(file)
    db.pragma('user_version = 99')
    db.close()
    expect(() => createSqliteSpool({ file })).toThrow(/schema version 99/)
  })

  it('opens a file another instance holds (one instance per data dir is the supported setup)', async () => {
    const file = newFile()
    spool = createSqliteSpool({ file })
    await spool.enqueue([newJob()])
    const second = createSqliteSpool({ file, synchronous: 'FULL' })
    try {
      expect(second.stats(Date.now()).depth).toBe(1)
      await second.enqueue([newJob()])
      // The first took the same seq: its group commit fails (not acknowledged, the broker will redeliver),
      // and the next one takes seqs after the file's highest.
      const job = newJob()
      await spool.enqueue([job]).catch(() => spool!.enqueue([job]))
      expect(spool.stats(Date.now()).depth).toBe(2)
    } finally {
      await second.close()
    }
  })

  it('measures enqueue + complete throughput (printed, not asserted)', async () => {
    const file = newFile()
    spool = createSqliteSpool({ file })
    const open = spool
    const count = 40_000
    const window = 256
    const started = performance.now()
    // Ingest: single-message enqueues, up to `window` waiting for their commit at once.
    const ingest = (async () => {
      for (let sent = 0; sent < count; sent += window) {
        const batch = Array.from({ length: Math.min(window, count - sent) }, () => open.enqueue([newJob()]))
        await Promise.all(batch)
      }
    })()
    let completed = 0
    while (completed < count) {
      const leased = open.lease(window, Date.now())
      for (const job of leased) open.complete(job.id)
      completed += leased.length
      if (leased.length === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    await ingest
    await open.close()
    const seconds = (performance.now() - started) / 1000
    console.log(
      `sqlite spool: ${Math.round(count / seconds)} jobs/s enqueue+complete (${count} jobs, ${seconds.toFixed(2)} s)`,
    )
    spool = createSqliteSpool({ file })
    expect(spool.stats(Date.now())).toMatchObject({ depth: 0, leased: 0, bytes: 0 })
  })
})
