// Where `hookbridge dlq` finds the dead letters: the running instance's HTTP API (which holds the spool's
// in-memory index, so a replay there is delivered at once) or, when nothing listens, the spool file itself.
import { existsSync } from 'node:fs'
import type { Config } from '../config/schema.js'
import { HookbridgeError } from '../errors.js'
import {
  createDeadLetterAdmin,
  type DeadLetterDetail,
  type DeadLetterPage,
  type DeadLetterSelection,
  type PurgeResult,
  type ReplayResult,
} from '../spool/dead-letter-admin.js'
import { spoolFile } from '../spool/spool-file.js'
import { createSqliteSpool } from '../spool/sqlite-spool.js'

export interface ListQuery {
  rule?: string
  limit?: number
  after?: string
}

export interface DlqBackend {
  list(query: ListQuery): Promise<DeadLetterPage>
  show(id: string): Promise<DeadLetterDetail>
  replay(selection: DeadLetterSelection): Promise<ReplayResult>
  purge(selection: DeadLetterSelection): Promise<PurgeResult>
}

/** An error answered by the HTTP API: its code comes from the server's catalogue. */
export class RemoteError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Nothing accepted the connection: no request was sent, so the operation can run on the file instead. */
class ConnectionRefused extends Error {}

const TIMEOUT_MS = 60_000

export function httpBackend(url: string, token: string | undefined): DlqBackend {
  const base = url.replace(/\/+$/, '')
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (token) headers.authorization = `Bearer ${token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    let text: string
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      })
      text = await res.text()
    } catch (err) {
      if (isRefused(err)) throw new ConnectionRefused()
      throw new HookbridgeError('HOOKBRIDGE_DLQ_UNREACHABLE', { url: base, detail: describe(err) })
    }
    let parsed: { error?: { code?: unknown; message?: unknown } } | undefined
    try {
      parsed = JSON.parse(text)
    } catch {
      const detail = `it answered HTTP ${res.status} with ${res.headers.get('content-type') ?? 'no content type'}, not JSON: is this hookbridge?`
      throw new HookbridgeError('HOOKBRIDGE_DLQ_UNREACHABLE', { url: base, detail })
    }
    if (res.ok) return parsed as T
    const error = parsed?.error
    if (typeof error?.code === 'string') throw new RemoteError(error.code, String(error.message))
    throw new HookbridgeError('HOOKBRIDGE_DLQ_UNREACHABLE', {
      url: base,
      detail: `it answered HTTP ${res.status} without an error code: is this hookbridge?`,
    })
  }
  const item = (id: string) => `/v1/dlq/${encodeURIComponent(id)}`
  return {
    list({ rule, limit, after }) {
      const query = new URLSearchParams()
      if (rule !== undefined) query.set('rule', rule)
      if (limit !== undefined) query.set('limit', String(limit))
      if (after !== undefined) query.set('after', after)
      const search = query.size > 0 ? `?${query}` : ''
      return call('GET', `/v1/dlq${search}`)
    },
    show: (id) => call('GET', item(id)),
    replay: (selection) => call('POST', '/v1/dlq/replay', selection),
    purge: (selection) => call('POST', '/v1/dlq/purge', selection),
  }
}

/** The dead letters of the spool file, for when no instance runs; `close` must be called. */
export function fileBackend(config: Readonly<Config>, url: string): DlqBackend & { close(): Promise<void> } {
  if (config.spool.mode === 'memory') {
    throw new HookbridgeError('HOOKBRIDGE_DLQ_NO_SPOOL', {
      url,
      detail: 'spool.mode is memory, so dead letters live only inside a running hookbridge',
    })
  }
  const file = spoolFile(config)
  if (!existsSync(file)) throw new HookbridgeError('HOOKBRIDGE_DLQ_NO_SPOOL', { url, detail: `${file} does not exist` })
  const spool = createSqliteSpool({ file })
  const admin = createDeadLetterAdmin(spool)
  return {
    list: async (query) => admin.list(query),
    async show(id) {
      const dead = admin.get(id)
      if (dead === undefined) throw new HookbridgeError('HOOKBRIDGE_DEAD_LETTER_NOT_FOUND', { id })
      return dead
    },
    replay: async (selection) => admin.replay(selection),
    purge: async (selection) => admin.purge(selection),
    close: () => spool.close(),
  }
}

/**
 * Runs `operation` against the HTTP API at `url`; if nothing listens there (and `fallBack`), against the spool
 * file. `note` is told which one was used.
 */
export async function withBackend<T>(
  config: Readonly<Config>,
  target: { url: string | undefined; token: string | undefined; fallBack: boolean },
  operation: (backend: DlqBackend) => Promise<T>,
  note: (line: string) => void,
): Promise<{ result: T; mode: 'http' | 'file' }> {
  const { url, token } = target
  if (url !== undefined) {
    try {
      const result = await operation(httpBackend(url, token))
      note(`using the running hookbridge at ${url}`)
      return { result, mode: 'http' }
    } catch (err) {
      if (err instanceof RemoteError) note(`using the running hookbridge at ${url}`)
      if (!(err instanceof ConnectionRefused)) throw err
      if (!target.fallBack)
        throw new HookbridgeError('HOOKBRIDGE_DLQ_UNREACHABLE', {
          url,
          detail: 'connection refused (the spool file is used instead only when --url is not given)',
        })
    }
  }
  const shown = url ?? 'no URL (api.port is 0)'
  const backend = fileBackend(config, shown)
  note(`nothing listens at ${shown}: using the spool file ${spoolFile(config)} directly`)
  try {
    return { result: await operation(backend), mode: 'file' }
  } finally {
    await backend.close()
  }
}

/** The API address from the config: loopback when it listens on every interface. */
export function defaultUrl(config: Readonly<Config>): string | undefined {
  if (config.api.port === 0) return undefined
  let host = config.api.host
  if (host === '0.0.0.0' || host === '::' || host === '[::]') host = '127.0.0.1'
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`
  return `http://${host}:${config.api.port}`
}

function isRefused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string; errors?: Array<{ code?: string }> } })?.cause
  if (cause?.code === 'ECONNREFUSED') return true
  return Array.isArray(cause?.errors) && cause.errors.length > 0 && cause.errors.every((e) => e.code === 'ECONNREFUSED')
}

function describe(err: unknown): string {
  if ((err as Error)?.name === 'TimeoutError') return `no answer within ${TIMEOUT_MS} ms`
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause
  return cause?.message ?? cause?.code ?? (err as Error)?.message ?? String(err)
}
