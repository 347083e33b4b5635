// The query and MQTT-* headers of POST /v1/publish/{topic}, validated without zod when they are plainly valid (the
// zod validators took about a tenth of the CPU of a publish, half of it materialising every request header).
// Anything this quick check does not accept goes through the zod schemas of publish-schemas.ts, which also
// document the route: so the schemas stay the one definition, and errors are exactly the ones they give.
import type { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv } from '../app.js'
import { validationHook } from '../errors.js'
import { requestHeader } from '../request-headers.js'
import { rawPublishHeaders, rawPublishQuery } from './publish-schemas.js'

export type RawQuery = z.output<typeof rawPublishQuery>
export type RawHeaders = z.output<typeof rawPublishHeaders>

const QOS = new Set(['0', '1', '2'])
const BOOLEAN = new Set(['true', 'false', '1', '0'])
const SECONDS = /^\d{1,10}$/
const HEADER_NAMES = Object.keys(rawPublishHeaders.shape) as Array<keyof RawHeaders>

/** Query and headers as the zod validators of the route would give them (or their error, thrown). */
export function rawPublishOptions(c: Context<AppEnv>): { query: RawQuery; headers: RawHeaders } {
  // Query first, then headers: the order in which the route's validators ran.
  const query = parseRawQuery(plainQueries(c.req.url) ?? new Map(Object.entries(c.req.queries())))
  return {
    query,
    headers: parseRawHeaders(
      (name) => requestHeader(c, name),
      () => c.req.header(),
    ),
  }
}

/**
 * What Hono's c.req.queries() gives for a query string that needs no decoding (no `%`, no `+`): every name with
 * its values in order, `name` alone as '', empty names skipped. undefined when there is something to decode.
 * A Map, not a null-prototype object: storing a freshly sliced name in one of those took V8's slow path (about
 * 1.5 µs per request, a tenth of the route's own CPU).
 */
export function plainQueries(url: string): Map<string, string[]> | undefined {
  const queries = new Map<string, string[]>()
  const hash = url.indexOf('#', 8)
  const end = hash === -1 ? url.length : hash
  const start = url.indexOf('?', 8)
  if (start === -1 || start > end) return queries
  const search = url.slice(start + 1, end)
  if (search.includes('%') || search.includes('+')) return undefined
  for (const part of search.split('&')) {
    const eq = part.indexOf('=')
    const name = eq === -1 ? part : part.slice(0, eq)
    if (name === '') continue
    const value = eq === -1 ? '' : part.slice(eq + 1)
    const values = queries.get(name)
    if (values === undefined) queries.set(name, [value])
    else values.push(value)
  }
  return queries
}

/** `queries` as Hono gives them (c.req.queries()): every name with its values in order. */
export function parseRawQuery(queries: Map<string, string[]>): RawQuery {
  const quick: Record<string, string | string[]> = {}
  for (const [name, values] of queries) {
    const value = values.length === 1 ? values[0] : values
    if (!quickQueryValue(name, value)) {
      // The shape Hono's query validator gives zod: one value as a string, a repeated one as an array.
      const input = Object.fromEntries([...queries].map(([k, v]) => [k, v.length === 1 ? v[0] : v]))
      return checked(rawPublishQuery, input, 'query')
    }
    // Only the schema's names get here (quickQueryValue refuses any other), so no '__proto__'.
    quick[name] = value
  }
  return quick as RawQuery
}

function quickQueryValue(name: string, value: string | string[]): boolean {
  switch (name) {
    case 'qos':
      return typeof value === 'string' && QOS.has(value)
    case 'retain':
      return typeof value === 'string' && BOOLEAN.has(value)
    case 'messageExpirySeconds':
      return typeof value === 'string' && SECONDS.test(value)
    case 'responseTopic':
    case 'correlationData':
      return typeof value === 'string'
    case 'userProperty':
      return true
    default:
      return false // unknown names are refused (the schema is strict); zod words the error
  }
}

/** `header(name)`: one header (lower-case name), as Headers.get gives it; `all()`: every header. */
export function parseRawHeaders(
  header: (name: string) => string | undefined,
  all: () => Record<string, string>,
): RawHeaders {
  const quick: Record<string, string> = {}
  for (const name of HEADER_NAMES) {
    const value = header(name)
    if (value === undefined) continue
    if (!quickHeaderValue(name, value)) return checked(rawPublishHeaders, all(), 'header')
    quick[name] = value
  }
  return quick as RawHeaders
}

function quickHeaderValue(name: keyof RawHeaders, value: string): boolean {
  switch (name) {
    case 'mqtt-qos':
      return QOS.has(value)
    case 'mqtt-retain':
      return BOOLEAN.has(value)
    case 'mqtt-message-expiry-seconds':
      return SECONDS.test(value)
    default:
      return true
  }
}

function checked<T extends z.ZodType>(schema: T, input: unknown, target: 'query' | 'header'): z.output<T> {
  const result = schema.safeParse(input)
  validationHook({ target, success: result.success, error: result.error })
  return result.data as z.output<T>
}
