// What a fixture case compares, and how a failure reads: the outcome is cut down to the fields the fixture names
// (headers are a subset match), then expected and actual are printed as JSON with -/+ lines where they differ.
import { isDeepStrictEqual } from 'node:util'
import { decodePayload } from '../transform/envelope.js'
import type { DryRunOutcome, DryRunRequest } from './dry-run.js'
import type { Expectation, RequestExpectation } from './fixture-schema.js'

export interface Comparison {
  ok: boolean
  expected: unknown
  actual: unknown
}

export function compareOutcome(expect: Expectation, outcome: DryRunOutcome): Comparison {
  const expected = expectedView(expect)
  const actual = alignKeys(actualView(outcome, expect), expected)
  return { ok: isDeepStrictEqual(expected, actual), expected, actual }
}

function expectedView(expect: Expectation): unknown {
  if (expect.matches !== undefined) return { matches: false }
  if (expect.skipped !== undefined) return { skipped: expect.skipped }
  if (expect.error !== undefined) return { error: { ...expect.error } }
  return {
    requests: (expect.requests ?? []).map((want) => {
      const view: Record<string, unknown> = {}
      if (want.method !== undefined) view.method = want.method.toUpperCase()
      if (want.url !== undefined) view.url = want.url
      if (want.headers !== undefined) {
        view.headers = Object.fromEntries(Object.entries(want.headers).map(([k, v]) => [k.toLowerCase(), v]))
      }
      if (want.body !== undefined) view.body = want.body
      if (want.bodyBase64 !== undefined) view.bodyBase64 = want.bodyBase64
      return view
    }),
  }
}

function actualView(outcome: DryRunOutcome, expect: Expectation): unknown {
  if (!outcome.matched) return { matches: false }
  if ('skipped' in outcome) return { skipped: expect.skipped === true ? true : outcome.skipped }
  if ('error' in outcome) {
    const want = expect.error?.message
    const { code, message } = outcome.error
    // The expected message is a part of the actual one: when it is found, show it as written.
    if (expect.error === undefined) return { error: { code, message } }
    return want === undefined
      ? { error: { code } }
      : { error: { code, message: message.includes(want) ? want : message } }
  }
  return { requests: outcome.requests.map((request, i) => requestView(request, expect.requests?.[i])) }
}

/** The request as far as `want` looks at it; in full (headers aside) when nothing was expected of it. */
function requestView(request: DryRunRequest, want: RequestExpectation | undefined): Record<string, unknown> {
  if (!want) return { method: request.method, url: request.url, body: bodyView(request.body, undefined) }
  const view: Record<string, unknown> = {}
  if (want.method !== undefined) view.method = request.method
  if (want.url !== undefined) view.url = request.url
  if (want.headers !== undefined) {
    const headers: Record<string, string> = {}
    for (const name of Object.keys(want.headers)) {
      const value = request.headers[name.toLowerCase()]
      if (value !== undefined) headers[name.toLowerCase()] = value
    }
    view.headers = headers
  }
  if (want.body !== undefined) view.body = bodyView(request.body, want.body)
  if (want.bodyBase64 !== undefined) view.bodyBase64 = request.body.toString('base64')
  return view
}

/** A JSON body as its value, else its text, else its bytes; a string expectation may also match the text. */
function bodyView(body: Buffer, want: unknown): unknown {
  const text = body.toString('utf8')
  const isText = Buffer.from(text, 'utf8').equals(body)
  const decoded = isText ? decodePayload(body) : undefined
  if (typeof want === 'string' && (text === want || (decoded?.isJson && decoded.value === want))) return want
  if (decoded?.isJson) return decoded.value
  return isText ? text : { base64: body.toString('base64') }
}

/** `value` with its object keys in the order `like` has them, so the diff shows changes, not reordering. */
function alignKeys(value: unknown, like: unknown): unknown {
  if (Array.isArray(value)) return value.map((item, i) => alignKeys(item, Array.isArray(like) ? like[i] : undefined))
  if (value === null || typeof value !== 'object') return value
  const template = like !== null && typeof like === 'object' && !Array.isArray(like) ? Object.keys(like) : []
  const record = value as Record<string, unknown>
  const keys = [...template.filter((k) => k in record), ...Object.keys(record).filter((k) => !template.includes(k))]
  return Object.fromEntries(keys.map((k) => [k, alignKeys(record[k], (like as Record<string, unknown>)?.[k])]))
}

/** Where `expected` and `actual` differ, as field paths (`requests[0].body.celsius`). */
export function differingPaths(expected: unknown, actual: unknown, path = ''): string[] {
  if (isDeepStrictEqual(expected, actual)) return []
  const bothArrays = Array.isArray(expected) && Array.isArray(actual)
  const bothObjects = isRecord(expected) && isRecord(actual)
  if (!bothArrays && !bothObjects) return [path || '(the whole outcome)']
  const keys = bothArrays
    ? [...Array(Math.max((expected as unknown[]).length, (actual as unknown[]).length)).keys()]
    : [...new Set([...Object.keys(expected as object), ...Object.keys(actual as object)])]
  return keys.flatMap((key) =>
    differingPaths(
      (expected as Record<string | number, unknown>)[key],
      (actual as Record<string | number, unknown>)[key],
      typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key,
    ),
  )
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

const MAX_DIFF_CELLS = 1_000_000

/** Expected (-) against actual (+) as pretty JSON, one line each; unchanged lines are indented by two spaces. */
export function formatDiff(expected: unknown, actual: unknown): string {
  const a = pretty(expected)
  const b = pretty(actual)
  const header = [`differs at: ${differingPaths(expected, actual).join(', ')}`, '- expected', '+ actual']
  if (a.length * b.length > MAX_DIFF_CELLS) {
    return [...header, ...a.map((l) => `- ${l}`), ...b.map((l) => `+ ${l}`)].join('\n')
  }
  // Longest common subsequence of lines, then a walk that prints removals before additions.
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0))
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!)
    }
  }
  const out: string[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`  ${a[i++]}`)
      j++
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push(`- ${a[i++]}`)
    else out.push(`+ ${b[j++]}`)
  }
  return [...header, ...out].join('\n')
}

function pretty(value: unknown): string[] {
  return (JSON.stringify(value, null, 2) ?? 'undefined').split('\n')
}
