// `hookbridge dlq list | show | replay | purge`: the dead letters, through the running instance's HTTP API or,
// when nothing listens there, straight from the spool file (dlq-backend.ts). Output: a table or text for people,
// `--json` (the HTTP API's JSON) for scripts. Exit 0 ok, 1 error, 64 usage.
import { parseArgs } from 'node:util'
import { loadConfig } from '../config/load.js'
import { settings } from '../config/settings.js'
import { HookbridgeError } from '../errors.js'
import {
  type DeadLetterDetail,
  type DeadLetterPage,
  type DeadLetterSelection,
  MAX_PAGE_LIMIT,
  type PurgeResult,
  type ReplayResult,
} from '../spool/dead-letter-admin.js'
import { type DlqBackend, defaultUrl, RemoteError, withBackend } from './dlq-backend.js'

/** Not a setting of the config file: the bearer token the CLI sends to the HTTP API. */
export const tokenEnv = 'HOOKBRIDGE_TOKEN'

export const dlqUsage = `  hookbridge dlq list [--rule R] [--limit N] [--after ID] [--json]
  hookbridge dlq show <id> [--json]
  hookbridge dlq replay <id...> | --rule R | --all [--json]
  hookbridge dlq purge <id...> | --rule R | --all [--json]
                                   dead letters, via the running instance's HTTP API (--url, default
                                   http://127.0.0.1:<api.port>; token from ${tokenEnv} or --token),
                                   or from the spool file in the data directory when nothing listens there`

const commandFlags: Record<string, readonly string[]> = {
  list: ['rule', 'limit', 'after'],
  show: [],
  replay: ['rule', 'all'],
  purge: ['rule', 'all'],
}

type Options = Record<string, { type: 'string' | 'boolean'; short?: string }>

export async function runDlq(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const options: Options = {
    help: { type: 'boolean', short: 'h' },
    config: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    rule: { type: 'string' },
    limit: { type: 'string' },
    after: { type: 'string' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
  }
  for (const s of settings) if (s.flag) options[s.flag.slice(2)] = { type: 'string' }
  let parsed: ReturnType<typeof parseArgs<{ options: Options; allowPositionals: true }>>
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw usage((err as Error).message)
  }
  const values = parsed.values as Record<string, string | boolean | undefined>
  const [command, ...ids] = parsed.positionals
  if (values.help) {
    process.stdout.write(`Usage:\n${dlqUsage}\n`)
    return 0
  }
  if (command === undefined || !Object.hasOwn(commandFlags, command)) {
    throw usage(command === undefined ? 'dlq needs a command' : `unknown dlq command "${command}"`)
  }
  for (const name of ['rule', 'limit', 'after', 'all']) {
    if (values[name] !== undefined && !commandFlags[command]!.includes(name)) {
      throw usage(`dlq ${command} takes no --${name}`)
    }
  }
  // Usage errors first, before the config is read.
  if (command === 'list' && ids.length > 0) throw usage('dlq list takes no ids (use dlq show <id>)')
  if (command === 'show' && ids.length !== 1) throw usage('dlq show takes one id')
  const limit = limitOf(values.limit)
  const selection = command === 'replay' || command === 'purge' ? selectionOf(command, ids, values) : undefined
  const flags: Record<string, string> = {}
  for (const s of settings) {
    const value = s.flag ? values[s.flag.slice(2)] : undefined
    if (typeof value === 'string') flags[s.flag!] = value
  }
  const config = loadConfig({ flags, configFile: values.config as string | undefined, env })
  const json = values.json === true
  const target = {
    url: (values.url as string | undefined) ?? defaultUrl(config),
    token: (values.token as string | undefined) ?? (env[tokenEnv] || undefined),
    // An address given with --url is meant: no falling back to a local file when it refuses.
    fallBack: values.url === undefined,
  }
  const note = (line: string) => process.stderr.write(`hookbridge dlq: ${line}\n`)
  const run = <T>(operation: (backend: DlqBackend) => Promise<T>) => withBackend(config, target, operation, note)

  try {
    switch (command) {
      case 'list': {
        const query = { rule: values.rule as string | undefined, limit, after: values.after as string | undefined }
        const { result } = await run((backend) => backend.list(query))
        out(json ? JSON.stringify(result, null, 2) : table(result))
        return 0
      }
      case 'show': {
        const { result } = await run((backend) => backend.show(ids[0]!))
        out(json ? JSON.stringify(result, null, 2) : details(result))
        return 0
      }
      default: {
        const replay = command === 'replay'
        const { result, mode } = await run<ReplayResult | PurgeResult>((backend) =>
          replay ? backend.replay(selection!) : backend.purge(selection!),
        )
        const count = 'replayed' in result ? result.replayed : result.purged
        if (json) out(JSON.stringify(result, null, 2))
        else out(`${replay ? 'replayed' : 'purged'} ${count} dead letter${count === 1 ? '' : 's'}`)
        if (replay && mode === 'file' && count > 0) note('they are delivered when hookbridge next starts')
        for (const id of result.notFound ?? []) {
          const err = new HookbridgeError('HOOKBRIDGE_DEAD_LETTER_NOT_FOUND', { id })
          process.stderr.write(`hookbridge: ${err.code}: ${err.message}\n`)
        }
        return result.notFound?.length ? 1 : 0
      }
    }
  } catch (err) {
    if (!(err instanceof RemoteError)) throw err
    process.stderr.write(`hookbridge: ${err.code}: ${err.message}\n`)
    return 1
  }
}

function selectionOf(
  command: string,
  ids: string[],
  values: Record<string, string | boolean | undefined>,
): DeadLetterSelection {
  const given = [ids.length > 0, values.rule !== undefined, values.all === true].filter(Boolean).length
  if (given !== 1) throw usage(`dlq ${command} takes ids, or --rule R, or --all (exactly one of them)`)
  if (ids.length > 0) return { ids }
  if (typeof values.rule === 'string') return { rule: values.rule }
  return { all: true }
}

function limitOf(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined
  const limit = Number(value)
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw usage(`--limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}, got "${value}"`)
  }
  return limit
}

function usage(detail: string): HookbridgeError {
  return new HookbridgeError('HOOKBRIDGE_CLI_USAGE', { detail })
}

function out(text: string): void {
  process.stdout.write(`${text}\n`)
}

const when = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')

function table(page: DeadLetterPage): string {
  if (page.items.length === 0) return 'no dead letters'
  const rows = [
    ['ID', 'RULE', 'TOPIC', 'TRIES', 'LAST', 'DEAD AT'],
    ...page.items.map((d) => [
      d.id,
      d.rule,
      d.topic,
      String(d.attempts),
      d.lastStatus !== undefined ? `HTTP ${d.lastStatus}` : (d.lastCode ?? '-'),
      when(d.deadAt),
    ]),
  ]
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const lines = rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  )
  const count = `${page.items.length} dead letter${page.items.length === 1 ? '' : 's'}`
  lines.push(page.next ? `${count} shown; more with --after ${page.next}` : count)
  return lines.join('\n')
}

function details(d: DeadLetterDetail): string {
  const { message, request } = d
  const lines = [
    `id:        ${d.id}`,
    `rule:      ${d.rule} (target ${d.target})`,
    `topic:     ${message.topic} (qos ${message.qos}${message.retain ? ', retained' : ''})`,
    `received:  ${when(message.receivedAt)}`,
    `dead at:   ${when(d.deadAt)} after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`,
    `reason:    ${d.reason}`,
    `request:   ${request.method} ${request.url}`,
    ...Object.entries(request.headers).map(([name, value]) => `           ${name}: ${value}`),
    message.payloadText !== undefined
      ? `payload (${d.payloadBytes} bytes, UTF-8):\n${message.payloadText}`
      : `payload (${d.payloadBytes} bytes, base64):\n${message.payloadBase64}`,
    'attempts:',
    ...d.history.map((a, i) => {
      const status = a.status === undefined ? undefined : `HTTP ${a.status}`
      const outcome = [status ?? a.code, a.error === status ? undefined : a.error].filter(Boolean)
      return `  ${i + 1}. ${when(a.at)}  ${a.durationMs} ms  ${outcome.join('  ')}`
    }),
  ]
  return lines.join('\n')
}
