// Processes: free ports, spawning and stopping children, and per-process CPU time and memory from /proc.
import { type ChildProcess, fork, spawn } from 'node:child_process'
import { once } from 'node:events'
import { openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { type Channel, channelTo } from './ipc.js'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      )
    })
  })
}

const CLOCK_TICKS_PER_SECOND = 100 // getconf CLK_TCK on Linux

export interface ProcStats {
  /** User + system CPU time so far. */
  cpuMs: number
  rssBytes: number
  /** Peak RSS (VmHWM). */
  peakRssBytes: number
}

/** CPU time (utime + stime) and RSS of one process, from /proc; undefined once it has exited. */
export function procStats(pid: number): ProcStats | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Field 2 (comm) may hold spaces: count fields from the closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12]) // utime, stime: fields 14 and 15 of the line
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') }
  } catch {
    return undefined
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls until `check` returns a value other than false/undefined, or throws after timeoutMs. */
export async function waitFor<T>(
  check: () => T | false | undefined | Promise<T | false | undefined>,
  options: { what: string; timeoutMs: number; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  for (;;) {
    const value = await check()
    if (value !== false && value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`)
    await sleep(options.intervalMs ?? 100)
  }
}

export interface Actor<R = unknown> {
  child: ChildProcess
  channel: Channel
  /** What the child sent once ready (e.g. its port). */
  ready: R
  stop(): Promise<void>
}

/** Forks a bench actor (a compiled bench module) and waits for its ready message. */
export async function forkActor<R>(
  modulePath: string,
  options: { env?: NodeJS.ProcessEnv; execArgv?: string[]; logFile?: string; timeoutMs?: number } = {},
): Promise<Actor<R>> {
  const log = options.logFile ? openSync(options.logFile, 'a') : 'inherit'
  const child = fork(modulePath, [], {
    env: { ...process.env, ...options.env },
    execArgv: options.execArgv ?? [],
    stdio: ['ignore', log, log, 'ipc'],
  })
  const channel = channelTo(child)
  const ready = await new Promise<R>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${modulePath}: not ready within ${options.timeoutMs ?? 30_000} ms`)),
      options.timeoutMs ?? 30_000,
    )
    const onMessage = (message: { id: number; value: R }) => {
      if (message.id !== 0) return
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      resolve(message.value)
    }
    const onExit = (code: number | null) => {
      clearTimeout(timer)
      reject(new Error(`${modulePath} exited with ${code} before it was ready`))
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
  })
  return { child, channel, ready, stop: () => stopProcess(child) }
}

export function spawnLogged(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; logFile: string; cwd?: string },
): ChildProcess {
  const log = openSync(options.logFile, 'a')
  return spawn(command, args, {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', log, log],
  })
}

/** SIGTERM, then SIGKILL after graceMs. Resolves once the process has exited. */
export async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}
