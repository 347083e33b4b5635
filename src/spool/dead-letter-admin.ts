// What operators see of the dead letters and what they may do with them, over any Spool: pages of summaries,
// full records (secrets in headers and URLs redacted), replay and purge by ids, rule or all. Shared by the HTTP
// API (/v1/dlq) and by `hookbridge dlq` when it opens a spool file itself, so both answer the same JSON.
import type { AttemptRecord, DeadLetter, Spool } from './spool.js'

export interface AttemptView {
  at: string
  durationMs: number
  status?: number
  code?: string
  error?: string
}

export interface DeadLetterSummary {
  id: string
  rule: string
  target: string
  topic: string
  reason: string
  attempts: number
  createdAt: string
  deadAt: string
  payloadBytes: number
  lastStatus?: number
  lastCode?: string
  lastError?: string
}

export interface DeadLetterDetail extends DeadLetterSummary {
  orderKey: string | null
  message: {
    topic: string
    qos: 0 | 1 | 2
    retain: boolean
    receivedAt: string
    properties?: Record<string, unknown>
    payloadBase64: string
    /** The payload as text, when it is valid UTF-8. */
    payloadText?: string
  }
  request: {
    method: string
    url: string
    headers: Record<string, string>
    bodyBytes: number
    bodyBase64: string
    bodyText?: string
  }
  history: AttemptView[]
}

export interface DeadLetterPage {
  items: DeadLetterSummary[]
  /** Pass as `after` to get the next page; absent on the last page. */
  next?: string
}

/** Which dead letters a replay or purge applies to: exactly one of the three. */
export type DeadLetterSelection = { ids: readonly string[] } | { rule: string } | { all: true }

export interface ReplayResult {
  replayed: number
  /** Ids given that are not dead letters. */
  notFound?: string[]
}

export interface PurgeResult {
  purged: number
  notFound?: string[]
}

export const DEFAULT_PAGE_LIMIT = 100
export const MAX_PAGE_LIMIT = 1000

/** Header names and URL query parameters whose values are shown as REDACTED. */
const SECRET_NAME = /authorization|token|secret|signature|cookie|api[-_]?key|password|passwd|credential/i
const SECRET_QUERY = /^(key|sig|code|auth)$/i
export const REDACTED = '[redacted]'

export interface DeadLetterAdmin {
  list(query?: { rule?: string; limit?: number; after?: string }): DeadLetterPage
  get(id: string): DeadLetterDetail | undefined
  /** Re-queues with the same delivery ids. Dead letters whose id is pending again are left alone. */
  replay(selection: DeadLetterSelection): ReplayResult
  purge(selection: DeadLetterSelection): PurgeResult
}

export function createDeadLetterAdmin(spool: Spool): DeadLetterAdmin {
  /** Every id a rule or `all` selects, read a page at a time so that payloads are not all held at once. */
  function selectedIds(rule: string | undefined): string[] {
    const ids: string[] = []
    for (let after: string | undefined; ; ) {
      const page = spool.listDeadLetters({ rule, after, limit: MAX_PAGE_LIMIT })
      for (const dead of page) ids.push(dead.id)
      if (page.length < MAX_PAGE_LIMIT) return ids
      after = page[page.length - 1]!.id
    }
  }

  /** The distinct ids given, and those of them that are not dead letters. */
  function split(ids: readonly string[]): { known: string[]; notFound: string[] } {
    const known: string[] = []
    const notFound: string[] = []
    for (const id of new Set(ids)) (spool.getDeadLetter(id) === undefined ? notFound : known).push(id)
    return { known, notFound }
  }

  return {
    list({ rule, after, limit = DEFAULT_PAGE_LIMIT } = {}) {
      // One more than asked: whether it exists says whether there is a next page.
      const found = spool.listDeadLetters({ rule, after, limit: limit + 1 })
      const items = found.slice(0, limit).map(summarize)
      return found.length > limit ? { items, next: items[items.length - 1]!.id } : { items }
    },

    get(id) {
      const dead = spool.getDeadLetter(id)
      return dead === undefined ? undefined : describe(dead)
    },

    replay(selection) {
      if ('ids' in selection) {
        const { known, notFound } = split(selection.ids)
        const replayed = spool.replayDeadLetters(known)
        return notFound.length > 0 ? { replayed, notFound } : { replayed }
      }
      return { replayed: spool.replayDeadLetters(selectedIds('rule' in selection ? selection.rule : undefined)) }
    },

    purge(selection) {
      if ('ids' in selection) {
        const { known, notFound } = split(selection.ids)
        const purged = known.length === 0 ? 0 : spool.purgeDeadLetters(known)
        return notFound.length > 0 ? { purged, notFound } : { purged }
      }
      return { purged: spool.purgeDeadLetters(undefined, 'rule' in selection ? selection.rule : undefined) }
    },
  }
}

export function summarize(dead: DeadLetter): DeadLetterSummary {
  const last: AttemptRecord | undefined = dead.history[dead.history.length - 1]
  return {
    id: dead.id,
    rule: dead.rule,
    target: dead.target,
    topic: dead.message.topic,
    reason: dead.reason,
    attempts: dead.attempts,
    createdAt: iso(dead.createdAt),
    deadAt: iso(dead.deadAt),
    payloadBytes: dead.message.payload.length,
    ...(last?.status !== undefined && { lastStatus: last.status }),
    ...(last?.code !== undefined && { lastCode: last.code }),
    ...(last?.error !== undefined && { lastError: last.error }),
  }
}

export function describe(dead: DeadLetter): DeadLetterDetail {
  const { message, request } = dead
  const payloadText = utf8(message.payload)
  const bodyText = utf8(request.body)
  return {
    ...summarize(dead),
    orderKey: dead.orderKey,
    message: {
      topic: message.topic,
      qos: message.qos,
      retain: message.retain,
      receivedAt: iso(message.receivedAt),
      ...(message.properties !== undefined && { properties: message.properties }),
      payloadBase64: message.payload.toString('base64'),
      ...(payloadText !== undefined && { payloadText }),
    },
    request: {
      method: request.method,
      url: redactUrl(request.url),
      headers: redactHeaders(request.headers),
      bodyBytes: request.body.length,
      bodyBase64: request.body.toString('base64'),
      ...(bodyText !== undefined && { bodyText }),
    },
    history: dead.history.map((attempt) => ({ ...attempt, at: iso(attempt.at) })),
  }
}

export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_NAME.test(name) ? REDACTED : value
  return out
}

/** A password in the URL and secret-looking query parameters (`?token=`, `?sig=`, ...) are replaced. */
export function redactUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return url // a template that failed to expand: no secret values in it
  }
  if (parsed.password) parsed.password = 'redacted'
  for (const name of new Set(parsed.searchParams.keys())) {
    if (SECRET_NAME.test(name) || SECRET_QUERY.test(name)) parsed.searchParams.set(name, 'redacted')
  }
  return parsed.toString()
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

function utf8(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}

const iso = (ms: number): string => new Date(ms).toISOString()
