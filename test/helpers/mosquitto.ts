// A mosquitto process of the test's own, on a free loopback port, with a config file the test writes.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'
import { waitFor } from './wait.js'

export interface MosquittoOptions {
  port?: number
  /** Keep sessions and queued messages on disk across restarts (in this instance's own directory). */
  persistence?: boolean
  /** Extra lines for mosquitto.conf. */
  extraConfig?: string[]
}

export interface TestMosquitto {
  port: number
  url: string
  dir: string
  /** Stop the process (SIGTERM, then SIGKILL after a deadline). */
  stop(): Promise<void>
  /** Start it again on the same port with the same config. */
  start(): Promise<void>
  /** Stop and remove its directory. */
  close(): Promise<void>
}

export async function startMosquitto(options: MosquittoOptions = {}): Promise<TestMosquitto> {
  const port = options.port ?? (await freePort())
  const dir = mkdtempSync(join(tmpdir(), 'hookbridge-mosquitto-'))
  const configFile = join(dir, 'mosquitto.conf')
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    `persistence ${options.persistence ? 'true' : 'false'}`,
    `persistence_location ${dir}/`,
    'max_queued_messages 0',
    'max_inflight_messages 0',
    'log_dest none',
    ...(options.extraConfig ?? []),
  ]
  writeFileSync(configFile, `${lines.join('\n')}\n`)
  let child: ChildProcess | undefined
  let stderr = ''

  async function start(): Promise<void> {
    stderr = ''
    const proc = spawn('mosquitto', ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
    child = proc
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`mosquitto exited with ${proc.exitCode}: ${stderr}`)
        return canConnect(port)
      },
      { what: `mosquitto on port ${port}`, timeoutMs: 10_000 },
    )
  }

  async function stop(): Promise<void> {
    const proc = child
    child = undefined
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }

  await start()
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    stop,
    start,
    async close() {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
