// hookbridge under test: the built CLI (`node dist/cli/main.js start`) as a child process with a config file and
// one rule holding the bench transform, in durable (SQLite spool) or memory-only mode. Defaults otherwise.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cliPath } from '../lib/paths.js'
import { freePort, spawnLogged, stopProcess } from '../lib/procs.js'
import { EXPRESSION, RULE_FILTER } from '../lib/workload.js'
import type { RunningSystem, StartContext, SystemDefinition } from './system.js'

export interface HookbridgeOptions {
  mode: 'durable' | 'memory'
  /** Settings merged into the config file, section by section (e.g. `{ spool: { groupCommitMs: 0 } }`). */
  extraConfig?: Record<string, unknown>
  /** Another build of the CLI (a patched copy of dist/), for trying a change side by side with the original. */
  cli?: string
  /** Node flags for this system alone (after BENCH_NODE_ARGS). */
  nodeArgs?: string[]
}

let defaultCli = cliPath

/** Measure another build than the working tree's dist/ (e.g. a committed revision: run.ts --at=<rev>). */
export function useHookbridgeBuild(distDir: string): void {
  defaultCli = join(distDir, 'cli/main.js')
}

function merge(base: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key]
    const bothObjects = [current, value].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v))
    out[key] = bothObjects ? merge(current as Record<string, unknown>, value as Record<string, unknown>) : value
  }
  return out
}

/** BENCH_NODE_ARGS: node flags for hookbridge only (e.g. `--trace-gc`, which NODE_OPTIONS refuses). */
const extraNodeArgs = (): string[] => process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []

export async function startHookbridge(context: StartContext, options: HookbridgeOptions): Promise<RunningSystem> {
  const rulesDir = join(context.dir, 'rules')
  mkdirSync(rulesDir, { recursive: true })
  writeFileSync(
    join(rulesDir, 'bench.json'),
    JSON.stringify(
      { name: 'bench', from: { topic: RULE_FILTER, qos: 1 }, transform: EXPRESSION, to: { url: context.targetUrl } },
      null,
      2,
    ),
  )
  const httpPort = await freePort()
  const config = merge(
    {
      mqtt: { url: context.brokerUrl, clientId: `hookbridge-bench-${process.pid}-${Date.now()}` },
      rules: rulesDir,
      dataDir: join(context.dir, 'data'),
      logLevel: 'warn',
      api: { port: httpPort },
      spool: { mode: options.mode },
    },
    options.extraConfig,
  )
  const configFile = join(context.dir, 'hookbridge.json')
  writeFileSync(configFile, JSON.stringify(config, null, 2))
  const child = spawnLogged(
    process.execPath,
    [
      ...(context.execArgv ?? []),
      ...extraNodeArgs(),
      ...(options.nodeArgs ?? []),
      options.cli ?? defaultCli,
      'start',
      '--config',
      configFile,
    ],
    {
      logFile: join(context.dir, 'hookbridge.log'),
      cwd: context.dir,
    },
  )
  return {
    pid: child.pid!,
    httpPort,
    // The grace covers a --cpu-prof child writing its profile on the way out.
    stop: () => stopProcess(child, 20_000),
  }
}

export const hookbridgeDurable: SystemDefinition = {
  id: 'hookbridge-durable',
  label: 'hookbridge (durable spool)',
  start: (context) => startHookbridge(context, { mode: 'durable' }),
}

/** A patched build and/or other settings, measured as a system of its own next to the original. */
export function hookbridgeVariant(options: {
  cli?: string
  config?: Record<string, unknown>
  nodeArgs?: string[]
}): SystemDefinition {
  const what = [options.cli, options.config && JSON.stringify(options.config), options.nodeArgs?.join(' ')]
  return {
    id: 'hookbridge-variant',
    label: `hookbridge variant (${['durable', ...what.filter(Boolean)].join(', ')})`,
    start: (context) =>
      startHookbridge(context, {
        mode: 'durable',
        cli: options.cli,
        extraConfig: options.config,
        nodeArgs: options.nodeArgs,
      }),
  }
}

export const hookbridgeMemory: SystemDefinition = {
  id: 'hookbridge-memory',
  label: 'hookbridge (memory spool)',
  start: (context) => startHookbridge(context, { mode: 'memory' }),
}
