// The durable spool under kill -9: a child process enqueues, completes and dead-letters jobs until it is killed;
// every job it saw acknowledged, and every dead letter, must be there when the file is opened again.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '../../test/helpers/wait.js'
import { ids } from './spool-fixtures.js'
import { createSqliteSpool } from './sqlite-spool.js'

const dir = mkdtempSync(join(tmpdir(), 'hookbridge-spool-crash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const newFile = () => join(dir, `spool-${++files}.db`)

describe('sqlite spool under kill -9', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url))
  const built = join(root, 'dist/spool/sqlite-spool.js')
  let child: ChildProcess | undefined

  beforeAll(() => {
    // The child runs the compiled spool; `npm test` builds first, a direct vitest run may need to.
    const sources = [
      ...['sqlite-spool', 'sqlite-schema', 'sqlite-dead-letters', 'sqlite-journal', 'sqlite-writer'],
      ...['sqlite-commit-codec', 'sqlite-pending-writes', 'sqlite-window', 'job-index', 'deque', 'heap'],
    ]
    const stale = (name: string) =>
      !existsSync(join(root, `dist/spool/${name}.js`)) ||
      statSync(join(root, `dist/spool/${name}.js`)).mtimeMs < statSync(join(root, `src/spool/${name}.ts`)).mtimeMs
    if (sources.some(stale)) {
      try {
        execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
          cwd: root,
          stdio: 'pipe',
        })
      } catch {
        // Type errors elsewhere in the tree still emit; what matters is that our files were.
      }
    }
    expect(sources.some(stale)).toBe(false)
  })
  afterEach(() => {
    child?.kill('SIGKILL')
  })

  // A small window: most of the backlog is spilled (rows of their own) when the process is killed. A large one:
  // it is journaled (sqlite-journal.ts), kept there 5 s or retired into rows every 50 ms.
  it.each([
    { windowJobs: 100, retireAfterMs: 5000 },
    { windowJobs: 1_000_000, retireAfterMs: 5000 },
    { windowJobs: 1_000_000, retireAfterMs: 50 },
  ])(
    'loses no acknowledged job and no dead letter (window $windowJobs, journal retired after $retireAfterMs ms)',
    async ({ windowJobs, retireAfterMs }) => {
      const file = newFile()
      const script = join(dir, 'crash-child.mjs')
      writeFileSync(script, CHILD_SCRIPT)
      const args = [script, pathToFileURL(built).href, file, String(windowJobs), String(retireAfterMs)]
      const proc = spawn(process.execPath, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      child = proc
      // 'close', not 'exit': the lines still in the pipe when the child dies must be read too.
      const closed = new Promise((resolve) => proc.on('close', resolve))
      let out = ''
      let err = ''
      proc.stdout.on('data', (chunk) => {
        out += chunk
      })
      proc.stderr.on('data', (chunk) => {
        err += chunk
      })
      const count = (kind: string) => out.split('\n').filter((line) => line.startsWith(`${kind} `)).length
      await waitFor(
        () => (proc.exitCode !== null ? Promise.reject(new Error(err)) : count('E') >= 5000 && count('D') >= 500),
        {
          timeoutMs: 30_000,
          what: 'the child to acknowledge jobs',
        },
      )
      proc.kill('SIGKILL')
      await closed

      // Only whole lines: a line cut by the kill was not fully acknowledged.
      const lines = out.slice(0, out.lastIndexOf('\n')).split('\n')
      const of = (kind: string) => new Set(lines.filter((l) => l.startsWith(`${kind} `)).map((l) => l.slice(2)))
      const [acked, completed, buried] = [of('E'), of('C'), of('D')]
      const spool = createSqliteSpool({ file })
      try {
        // Ordered jobs are leasable one at a time per key: lease and complete until nothing is left.
        const pending = new Set<string>()
        for (let jobs = spool.lease(1e6, Number.MAX_SAFE_INTEGER); jobs.length > 0; ) {
          for (const job of jobs) {
            pending.add(job.id)
            spool.complete(job.id)
          }
          jobs = spool.lease(1e6, Number.MAX_SAFE_INTEGER)
        }
        const dead = new Set(ids(spool.listDeadLetters()))
        const lost = [...acked].filter((id) => !completed.has(id) && !pending.has(id) && !dead.has(id))
        const lostDead = [...buried].filter((id) => !pending.has(id) && !dead.has(id))
        console.log(
          `kill -9: ${acked.size} acknowledged, ${pending.size} pending, ${dead.size} dead letters after restart`,
        )
        expect(lost).toEqual([])
        expect(lostDead).toEqual([])
        expect(buried.size).toBeGreaterThan(0)
      } finally {
        await spool.close()
      }
    },
  )
})

/** Ingest and a worker at once: acknowledges ("E id") each job when its enqueue resolves, then leases them and
 * completes ("C id") or dead-letters ("D id") them (some after one retry), until killed. */
const CHILD_SCRIPT = `
const [moduleUrl, file, windowJobs, retireAfterMs] = process.argv.slice(2)
const { createSqliteSpool } = await import(moduleUrl)
// The backlog grows by 16 jobs a round: in the file past a small window, journaled with a large one.
const spool = createSqliteSpool({ file, windowJobs: Number(windowJobs), journal: { retireAfterMs: Number(retireAfterMs) } })
const job = (id) => ({
  id, rule: 'crash', target: 'main', orderKey: Number(id.slice(2)) % 5 === 0 ? 'k' : null,
  message: { topic: 't/' + id, payload: Buffer.from(id), qos: 1, retain: false, receivedAt: Date.now() },
  request: { method: 'POST', url: 'http://127.0.0.1:9/', headers: { 'x-id': id }, body: Buffer.from(id) },
})
const attempt = { at: 0, durationMs: 1, status: 400 }
let n = 0
for (let round = 0; round < 100000; round++) {
  const batch = []
  for (let i = 0; i < 64; i++) {
    const id = 'c-' + n++
    batch.push(spool.enqueue([job(id)]).then(() => process.stdout.write('E ' + id + '\\n')))
  }
  await Promise.all(batch)
  for (const leased of spool.lease(48, Date.now())) {
    // Some fail once first: a retry writes a journaled job's row (and stops journaling while it waits).
    if (leased.attempts === 0 && Number(leased.id.slice(2)) % 7 === 0) {
      spool.retry(leased.id, Date.now(), { at: 0, durationMs: 1, status: 503 })
      continue
    }
    if (Number(leased.id.slice(2)) % 3 === 0) {
      spool.deadLetter(leased.id, attempt, 'crash test')
      process.stdout.write('D ' + leased.id + '\\n')
    } else {
      spool.complete(leased.id)
      process.stdout.write('C ' + leased.id + '\\n')
    }
  }
}
`
