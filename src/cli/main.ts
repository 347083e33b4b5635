#!/usr/bin/env node
// Command dispatch: `hookbridge [start] | validate [dir] | dlq ... | --help | --version`.
import { parseArgs } from 'node:util'
import { loadConfig } from '../config/load.js'
import { configFileFlag, settings } from '../config/settings.js'
import { HookbridgeError, isHookbridgeError } from '../errors.js'
import { version } from '../version.js'
import { dlqUsage, runDlq } from './dlq.js'
import { runSchema } from './schema.js'
import { runTest } from './test.js'
import { runValidate } from './validate.js'

const usage = `hookbridge ${version}: an MQTT ⇄ HTTP bridge

Usage:
  hookbridge [start] [options]     run the bridge (the default command)
  hookbridge validate [dir]        check a rules directory (default: HOOKBRIDGE_RULES or ./rules)
  hookbridge test [dir] [--json]   run the rule fixtures (<rule>.test.yaml) offline; exit 1 if one fails
  hookbridge schema [rule|fixture] print the JSON Schema of rule files (or of fixture files)
${dlqUsage}
  hookbridge --help | --version

Options (each overrides its environment variable and the config file):
  ${configFileFlag} <file>          YAML config file (or HOOKBRIDGE_CONFIG)
${settings
  .filter((s) => s.flag)
  .map((s) => `  ${`${s.flag} <value>`.padEnd(24)} ${s.description} (${s.env})`)
  .join('\n')}

Documentation: README.md`

export async function main(argv: string[]): Promise<number> {
  // dlq has options of its own (--rule, --json, ...): it reads the rest of the line itself.
  if (argv[0] === 'dlq') return runDlq(argv.slice(1)).catch(fail)
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
    config: { type: 'string' },
    json: { type: 'boolean' },
  }
  for (const s of settings) if (s.flag) options[s.flag.slice(2)] = { type: 'string' }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    return fail(new HookbridgeError('HOOKBRIDGE_CLI_USAGE', { detail: (err as Error).message }))
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${usage}\n`)
    return 0
  }
  if (values.version) {
    process.stdout.write(`${version}\n`)
    return 0
  }
  const [command = 'start', ...rest] = positionals
  const flags: Record<string, string> = {}
  for (const [key, value] of Object.entries(values))
    if (typeof value === 'string' && key !== 'config') flags[`--${key}`] = value
  try {
    if (values.json && command !== 'test') {
      throw new HookbridgeError('HOOKBRIDGE_CLI_USAGE', { detail: '--json goes with `hookbridge test`' })
    }
    if (command === 'test') {
      if (rest.length > 1) throw new HookbridgeError('HOOKBRIDGE_CLI_USAGE', { detail: 'test takes one directory' })
      const dir =
        rest[0] ?? flags['--rules'] ?? loadConfig({ flags, configFile: values.config as string | undefined }).rules
      return await runTest(dir, { json: values.json === true })
    }
    if (command === 'schema') return runSchema(rest)
    if (command === 'validate') {
      if (rest.length > 1) throw new HookbridgeError('HOOKBRIDGE_CLI_USAGE', { detail: 'validate takes one directory' })
      const dir =
        rest[0] ?? flags['--rules'] ?? loadConfig({ flags, configFile: values.config as string | undefined }).rules
      return runValidate(dir)
    }
    if (command === 'start') {
      if (rest.length > 0)
        throw new HookbridgeError('HOOKBRIDGE_CLI_USAGE', {
          detail: `start takes no arguments, got "${rest.join(' ')}"`,
        })
      const config = loadConfig({ flags, configFile: values.config as string | undefined })
      // Loaded only for `start`: the other commands stay quick to launch.
      const { runStart } = await import('./start.js')
      return await runStart(config)
    }
    throw new HookbridgeError('HOOKBRIDGE_CLI_USAGE', { detail: `unknown command "${command}"` })
  } catch (err) {
    return fail(err)
  }
}

function fail(err: unknown): number {
  if (isHookbridgeError(err)) process.stderr.write(`hookbridge: ${err.code}: ${err.message}\n`)
  else process.stderr.write(`hookbridge: ${(err as Error)?.stack ?? String(err)}\n`)
  return err instanceof HookbridgeError && err.code === 'HOOKBRIDGE_CLI_USAGE' ? 64 : 1
}

main(process.argv.slice(2)).then(
  (code) => {
    // `start` resolves only once stopped; let pending output flush, then exit with the code.
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`hookbridge: ${String(err)}\n`)
    process.exitCode = 1
  },
)
