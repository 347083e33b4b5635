// hookbridge as a child process (the built CLI, `node dist/cli/main.js start`) for end-to-end tests: its own rules
// and data directories and HTTP port, kept across restarts so that the MQTT session and the spool carry over.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { stringify } from 'yaml'
import { storedJobs } from '../../src/spool/sqlite-journal.js'
import { freePort } from './ports.js'
import { waitFor } from './wait.js'

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))
/** Output kept per instance, for failure messages: the tail is what explains a failure. */
const MAX_OUTPUT_CHARS = 64 * 1024

export interface HookbridgeProcessOptions {
  mqttUrl: string
  /** Rule files to write, by file name (without .yaml). */
  rules: Record<string, unknown>
  /** Fixed for the instance's lifetime, so the broker keeps its session across restarts. */
  clientId?: string
  protocolVersion?: 4 | 5
  /** More HOOKBRIDGE_* settings, e.g. HOOKBRIDGE_CONCURRENCY_PER_ORIGIN. */
  env?: Record<string, string>
}

export interface SpooledJob {
  id: string
  /** The MQTT payload the job came from. */
  payload: Buffer
}

export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface HookbridgeProcess {
  readonly httpPort: number
  readonly clientId: string
  readonly dataDir: string
  /** The current child, if one was started and has not exited. */
  readonly running: boolean
  /** How many times a child was started. */
  readonly starts: number
  /** stdout and stderr of every run so far (the tail of it). */
  readonly output: string
  /** Spawn the CLI and wait until GET /readyz answers 200. */
  start(options?: { readyTimeoutMs?: number }): Promise<void>
  /** One GET /readyz: true on 200, false on any other answer or none. */
  isReady(): Promise<boolean>
  waitReady(timeoutMs?: number): Promise<void>
  waitNotReady(timeoutMs?: number): Promise<void>
  kill(signal: NodeJS.Signals): void
  waitExit(timeoutMs?: number): Promise<ProcessExit>
  /** The jobs in the spool file (pending deliveries), read from SQLite, beside the process or after it died. */
  spooledJobs(): SpooledJob[]
  /** Kill what is still running (SIGKILL), wait for it, remove the directories. */
  close(): Promise<void>
}

const instances = new Set<HookbridgeProcess>()
let counter = 0

export async function createHookbridgeProcess(options: HookbridgeProcessOptions): Promise<HookbridgeProcess> {
  const root = mkdtempSync(join(tmpdir(), 'hookbridge-e2e-'))
  const rulesDir = join(root, 'rules')
  const dataDir = join(root, 'data')
  mkdirSync(rulesDir)
  for (const [name, rule] of Object.entries(options.rules))
    writeFileSync(join(rulesDir, `${name}.yaml`), stringify(rule))
  const httpPort = await freePort()
  const clientId = options.clientId ?? `hookbridge-e2e-${process.pid}-${++counter}`
  const env: NodeJS.ProcessEnv = {}
  // The parent's own HOOKBRIDGE_* settings must not leak into the child.
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('HOOKBRIDGE_')) env[key] = value
  Object.assign(env, {
    HOOKBRIDGE_MQTT_URL: options.mqttUrl,
    HOOKBRIDGE_MQTT_CLIENT_ID: clientId,
    HOOKBRIDGE_MQTT_PROTOCOL_VERSION: String(options.protocolVersion ?? 5),
    HOOKBRIDGE_RULES: rulesDir,
    HOOKBRIDGE_DATA_DIR: dataDir,
    HOOKBRIDGE_HTTP_PORT: String(httpPort),
    HOOKBRIDGE_LOG_LEVEL: 'warn',
    ...options.env,
  })

  let child: ChildProcess | undefined
  let exited: Promise<ProcessExit> | undefined
  let output = ''
  let starts = 0
  const append = (chunk: Buffer) => {
    output += chunk.toString()
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS)
  }
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null

  async function isReady(): Promise<boolean> {
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/readyz`, { signal: AbortSignal.timeout(2_000) })
      await response.arrayBuffer()
      return response.status === 200
    } catch {
      return false
    }
  }

  function describe(what: string): string {
    return `${what} (hookbridge ${clientId}, run ${starts}, ${isRunning() ? 'running' : 'not running'}); output:\n${output.slice(-4_000)}`
  }

  async function waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        // Fail at once, with the reason, when the process died instead of becoming ready.
        if (!isRunning()) throw new Error('exited')
        return isReady()
      },
      { timeoutMs, intervalMs: 50, what: 'GET /readyz to answer 200' },
    ).catch((err: Error) => {
      throw new Error(describe(err.message))
    })
  }

  const instance: HookbridgeProcess = {
    httpPort,
    clientId,
    dataDir,
    get running() {
      return isRunning()
    },
    get starts() {
      return starts
    },
    get output() {
      return output
    },
    async start({ readyTimeoutMs = 60_000 } = {}) {
      if (isRunning()) throw new Error(describe('start() while the previous run is still running'))
      starts++
      output += `--- run ${starts} ---\n`
      const proc = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      child = proc
      proc.stdout?.on('data', append)
      proc.stderr?.on('data', append)
      exited = new Promise((resolve) => {
        proc.once('exit', (code, signal) => resolve({ code, signal }))
      })
      await waitReady(readyTimeoutMs)
    },
    isReady,
    waitReady,
    async waitNotReady(timeoutMs = 60_000) {
      await waitFor(async () => !(await isReady()), { timeoutMs, intervalMs: 50, what: 'GET /readyz not 200' }).catch(
        (err: Error) => {
          throw new Error(describe(err.message))
        },
      )
    },
    kill(signal) {
      if (!isRunning()) throw new Error(describe(`kill(${signal}) with no process running`))
      child!.kill(signal)
    },
    async waitExit(timeoutMs = 60_000) {
      if (!exited) throw new Error('waitExit() before start()')
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(describe(`no exit within ${timeoutMs} ms`))), timeoutMs)
      })
      try {
        return await Promise.race([exited, deadline])
      } finally {
        clearTimeout(timer)
      }
    },
    spooledJobs() {
      const file = join(dataDir, 'spool.db')
      if (!existsSync(file)) return []
      // Beside a running process: a read-only second connection (WAL lets it read the last commit without blocking
      // the writer). After the process died, a normal one, which recovers the WAL as the next run would.
      const db = new Database(file, { readonly: isRunning(), fileMustExist: true })
      try {
        return storedJobs(db).map(({ id, payload }) => ({ id, payload }))
      } finally {
        db.close()
      }
    },
    async close() {
      instances.delete(instance)
      if (isRunning()) {
        child!.kill('SIGKILL')
        await exited
      }
      rmSync(root, { recursive: true, force: true })
    },
  }
  instances.add(instance)
  return instance
}

/** For afterEach: SIGKILL and clean up every instance a test left behind. */
export async function closeAllHookbridgeProcesses(): Promise<void> {
  await Promise.all([...instances].map((instance) => instance.close()))
}
