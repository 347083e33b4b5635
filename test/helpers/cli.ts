// The built CLI (dist/cli/main.js) as a child process. `npm test` builds dist first (pretest).
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'

export const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Run a CLI command to completion (bounded by timeoutMs). */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  const child = spawnCli(args, env)
  const timer = setTimeout(() => child.process.kill('SIGKILL'), timeoutMs)
  const [code] = (await once(child.process, 'exit')) as [number | null]
  clearTimeout(timer)
  return { code, stdout: child.stdout(), stderr: child.stderr() }
}

export interface CliProcess {
  process: ChildProcess
  stdout(): string
  stderr(): string
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [cliPath, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return { process: child, stdout: () => stdout, stderr: () => stderr }
}
