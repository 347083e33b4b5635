// The quick checks must accept exactly what the zod schemas accept, give the same values, and leave every error to
// the schemas: each case is compared with what the route's zod validators produced before.
import { getQueryParams } from 'hono/utils/url'
import { describe, expect, it } from 'vitest'
import { describeZodError } from '../errors.js'
import { rawPublishHeaders, rawPublishQuery } from './publish-schemas.js'
import { parseRawHeaders, parseRawQuery, plainQueries } from './raw-publish-options.js'

type Outcome = { ok: true; value: unknown } | { ok: false; message: string }

function outcome(run: () => unknown): Outcome {
  try {
    return { ok: true, value: run() }
  } catch (err) {
    return { ok: false, message: (err as Error).message }
  }
}

function viaZod(schema: typeof rawPublishQuery | typeof rawPublishHeaders, input: unknown, target: string): Outcome {
  const result = schema.safeParse(input)
  return result.success
    ? { ok: true, value: result.data }
    : { ok: false, message: `Invalid request: ${describeZodError(result.error, target)}` }
}

const queries: Array<Record<string, string[]>> = [
  {},
  { qos: ['0'] },
  { qos: ['1'], retain: ['true'] },
  { qos: ['2'], retain: ['0'], messageExpirySeconds: ['4294967295'] },
  { responseTopic: ['replies/1'], correlationData: [''] },
  { userProperty: ['a=1'] },
  { userProperty: ['a=1', 'a=2', 'b=3'] },
  { qos: ['3'] },
  { qos: [''] },
  { qos: ['1', '2'] },
  { retain: ['yes'] },
  { retain: ['TRUE'] },
  { messageExpirySeconds: ['-1'] },
  { messageExpirySeconds: ['12345678901'] },
  { messageExpirySeconds: ['1.5'] },
  { responseTopic: ['a', 'b'] },
  { correlationData: ['x', 'y'] },
  { colour: ['red'] },
  { qos: ['1'], colour: ['red'] },
  { qos: ['9'], colour: ['red'], retain: ['maybe'] },
  { constructor: ['x'] },
]

const headerSets: Array<Record<string, string>> = [
  {},
  { 'mqtt-qos': '0', 'mqtt-retain': 'false' },
  { 'mqtt-qos': '2', 'mqtt-retain': '1', 'mqtt-message-expiry-seconds': '60' },
  { 'mqtt-response-topic': 'r', 'mqtt-correlation-data': 'c', 'mqtt-user-property': 'a=1, b=x%2Cy' },
  { 'idempotency-key': 'order-42', 'content-type': 'text/plain', host: 'localhost' },
  { 'mqtt-qos': '3' },
  { 'mqtt-qos': '1, 2' },
  { 'mqtt-retain': 'maybe' },
  { 'mqtt-message-expiry-seconds': 'soon' },
  { 'mqtt-qos': '7', 'mqtt-retain': 'no', 'content-type': 'text/plain' },
]

describe('parseRawQuery', () => {
  it.each(queries.map((q) => [JSON.stringify(q), q] as const))('%s: as the zod schema', (_name, queries) => {
    const input = Object.fromEntries(Object.entries(queries).map(([k, v]) => [k, v.length === 1 ? v[0] : v]))
    const expected = viaZod(rawPublishQuery, input, 'query')
    const actual = outcome(() => parseRawQuery(new Map(Object.entries(queries))))
    expect(actual).toEqual(expected)
  })
})

describe('parseRawHeaders', () => {
  it.each(headerSets.map((h) => [JSON.stringify(h), h] as const))('%s: as the zod schema', (_name, headers) => {
    const expected = viaZod(rawPublishHeaders, headers, 'header')
    const actual = outcome(() =>
      parseRawHeaders(
        (name) => headers[name],
        () => headers,
      ),
    )
    expect(actual).toEqual(expected)
  })
})

describe('plainQueries', () => {
  const base = 'http://127.0.0.1:8080/v1/publish/a/b'
  it.each([
    base,
    `${base}?`,
    `${base}?qos=1`,
    `${base}?qos=1&retain=true&qos=2`,
    `${base}?userProperty=a=1&userProperty=b=2`,
    `${base}?retain&qos=&=x&&responseTopic=r/1`,
    `${base}?constructor=1&__proto__=2&toString`,
    `${base}?qos=1#frag`,
    `${base}#frag?qos=1`,
    'http://127.0.0.1:8080/v1/publish/a%2Fb?qos=0',
  ])('%s: as Hono parses it', (url) => {
    expect(Object.fromEntries(plainQueries(url)!)).toEqual({ ...(getQueryParams(url) as Record<string, string[]>) })
  })

  it.each([`${base}?correlationData=a%20b`, `${base}?correlationData=a+b`])('leaves %s to Hono (decoding)', (url) => {
    expect(plainQueries(url)).toBeUndefined()
  })
})
