// One HTTP attempt: send an OutgoingRequest with undici and report what happened. Never throws, never logs;
// whether to retry is retry-policy.ts's decision and acting on it is the worker's.
import { Agent, type Dispatcher, util } from 'undici'
import { HookbridgeError } from '../errors.js'
import type { OutgoingRequest } from '../spool/spool.js'

export interface SenderOptions {
  /** Connections per origin. Default 16. */
  connectionsPerOrigin?: number
  /** Requests in flight per connection. Default 1: a POST pipelined behind one that fails has an unknown fate. */
  pipelining?: number
  /** How long an idle connection is kept. Default undici's 4 s (shortened by a server's Keep-Alive hint). */
  keepAliveTimeoutMs?: number
  /** Response body bytes kept (for replies); the rest is read and discarded. Default 1 MiB. */
  maxResponseBytes?: number
}

/** Either a response (status, headers, body) or an error; durationMs always. */
export interface SendResult {
  status?: number
  /** Response headers, names lower-cased, repeated headers joined with ", ". */
  headers?: Record<string, string>
  /** The response body, truncated to maxResponseBytes. */
  body?: Buffer
  /** The Retry-After header (seconds or HTTP-date) as a delay from now; the policy decides whether to honour it. */
  retryAfterMs?: number
  /** HOOKBRIDGE_DELIVERY_TIMEOUT or HOOKBRIDGE_DELIVERY_CONNECTION; when set, the attempt failed. */
  error?: HookbridgeError
  durationMs: number
}

export interface Sender {
  send(request: OutgoingRequest, timeoutMs: number): Promise<SendResult>
  /** Waits for requests in flight, then closes every connection. */
  close(): Promise<void>
}

const { headerNameToString } = util

export function createSender(options: SenderOptions = {}): Sender {
  const maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024
  // An Agent keeps one keep-alive Pool per origin, like a Map of Pools would, and measured as fast (~21k req/s
  // either way on loopback); it also drops an origin's Pool once its connections close, so computed URLs
  // cannot grow it without bound.
  const agent = new Agent({
    connections: options.connectionsPerOrigin ?? 16,
    pipelining: options.pipelining ?? 1,
    ...(options.keepAliveTimeoutMs !== undefined && { keepAliveTimeout: options.keepAliveTimeoutMs }),
  })
  let closed = false

  function send(request: OutgoingRequest, timeoutMs: number): Promise<SendResult> {
    const started = performance.now()
    const parsed = parseUrl(request.url)
    const url = parsed ? parsed.safe : '(invalid URL)'
    let target: Dispatcher.DispatchOptions
    try {
      target = prepare(request, parsed, timeoutMs)
    } catch (err) {
      const detail = err instanceof Error ? err.message : 'invalid request'
      const error = new HookbridgeError('HOOKBRIDGE_DELIVERY_INVALID_REQUEST', { url, detail })
      return Promise.resolve({ error, durationMs: 0 })
    }
    if (closed) return Promise.resolve({ error: connectionError(url, 'the sender is closed'), durationMs: 0 })

    // One deadline for connect, headers and body: undici's own timeouts are per phase.
    return new Promise<SendResult>((resolve) => {
      const attempt = new Attempt(url, timeoutMs, maxResponseBytes, started, resolve)
      attempt.timer = setTimeout(() => attempt.timeOut(), timeoutMs)
      agent.dispatch(target, attempt)
    })
  }

  return {
    send,
    async close() {
      closed = true
      await agent.close()
    },
  }
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3). */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // Every HTTP-date form names a day or month; this keeps Date.parse's leniency ("1.5") out.
  if (!/[a-z]{3}/i.test(text)) return undefined
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** The URL as it may appear in messages: no userinfo, no query (tokens live there too). */
export function safeUrl(raw: string): string {
  try {
    const url = new URL(raw)
    return `${url.origin}${url.pathname}`
  } catch {
    return '(invalid URL)'
  }
}

interface ParsedUrl {
  url: URL
  /** What safeUrl() gives. */
  safe: string
  path: string
}

// Most jobs of a target share one URL: parse each once, not twice per attempt. Bounded: computed URLs vary.
const parsedUrls = new Map<string, ParsedUrl>()
const MAX_PARSED_URLS = 1024

function parseUrl(raw: string): ParsedUrl | undefined {
  let parsed = parsedUrls.get(raw)
  if (parsed) return parsed
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  parsed = { url, safe: `${url.origin}${url.pathname}`, path: `${url.pathname}${url.search}` }
  if (parsedUrls.size >= MAX_PARSED_URLS) parsedUrls.clear()
  parsedUrls.set(raw, parsed)
  return parsed
}

function prepare(
  request: OutgoingRequest,
  parsed: ParsedUrl | undefined,
  timeoutMs: number,
): Dispatcher.DispatchOptions {
  // An invalid URL throws here, with the URL parser's own message.
  const url = parsed ? parsed.url : new URL(request.url)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`)
  const headers: Record<string, string> = {}
  let hasAuthorization = false
  // for...in, not Object.entries: no array per header on the message path (headers are plain objects).
  for (const name in request.headers) {
    const value = request.headers[name]!
    const lower = name.toLowerCase()
    if (lower === 'content-length' || lower === 'transfer-encoding') continue
    if (lower === 'authorization') hasAuthorization = true
    headers[name] = value
  }
  // Userinfo becomes basic auth (as curl does); undici would silently drop it.
  if ((url.username || url.password) && !hasAuthorization) {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`
    headers['authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`
  }
  const bodyless = request.body.length === 0 && (request.method === 'GET' || request.method === 'HEAD')
  if (!bodyless) headers['content-length'] = String(request.body.length)
  return {
    origin: url.origin,
    path: parsed ? parsed.path : `${url.pathname}${url.search}`,
    method: request.method as Dispatcher.HttpMethod,
    headers,
    body: bodyless ? null : request.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  }
}

const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])

/**
 * One attempt as an undici dispatch handler: no response stream, no AbortController, no async iterator. Keeps the
 * first maxBytes of the body and reads and discards the rest, so the connection can serve the next request.
 */
class Attempt implements Dispatcher.DispatchHandler {
  timer: NodeJS.Timeout | undefined
  private abort: ((err?: Error) => void) | undefined
  private timedOut = false
  private settled = false
  private status: number | undefined
  private rawHeaders: Buffer[] | string[] | undefined
  private chunks: Buffer[] = []
  private kept = 0

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly maxBytes: number,
    private readonly started: number,
    private readonly resolve: (result: SendResult) => void,
  ) {}

  timeOut(): void {
    this.timer = undefined
    this.timedOut = true
    // Before the connection is up there is nothing to abort yet: onConnect does it.
    this.abort?.(new Error('timed out'))
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort
    if (this.timedOut) abort(new Error('timed out'))
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[] | string[]): boolean {
    // 1xx responses are informational: the final one follows.
    if (statusCode < 200) return true
    this.status = statusCode
    this.rawHeaders = rawHeaders
    return true
  }

  onData(chunk: Buffer): boolean {
    const room = this.maxBytes - this.kept
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room)
      this.chunks.push(part)
      this.kept += part.length
    }
    return true
  }

  onComplete(): void {
    this.succeed()
  }

  onError(err: Error): void {
    // Everything we keep has arrived; a failure while discarding the rest only costs the connection.
    if (this.status !== undefined && this.kept >= this.maxBytes) {
      this.succeed()
      return
    }
    const code = (err as { code?: unknown } | null)?.code
    if (this.timedOut || (typeof code === 'string' && timeoutCodes.has(code))) {
      // `status` is set when the headers came in time but the body did not.
      const { url, timeoutMs, status } = this
      const details = status === undefined ? { url, timeoutMs } : { url, timeoutMs, status }
      const error = new HookbridgeError('HOOKBRIDGE_DELIVERY_TIMEOUT', details, { cause: err })
      this.finish({ error, durationMs: this.elapsed() })
      return
    }
    this.finish({ error: connectionError(this.url, describeError(err), err), durationMs: this.elapsed() })
  }

  private succeed(): void {
    const headers = flattenHeaders(this.rawHeaders ?? [])
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.kept)
    const result: SendResult = { status: this.status, headers, body, durationMs: this.elapsed() }
    const retryAfter = headers['retry-after']
    if (retryAfter !== undefined) {
      const retryAfterMs = parseRetryAfter(retryAfter, Date.now())
      if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs
    }
    this.finish(result)
  }

  private finish(result: SendResult): void {
    if (this.settled) return
    this.settled = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.chunks = []
    this.resolve(result)
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.started)
  }
}

/** Response headers, names lower-cased, repeated headers joined with ", " (as undici's parsed form would be). */
function flattenHeaders(raw: Buffer[] | string[]): Record<string, string> {
  const flat: Record<string, string> = {}
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = headerNameToString(raw[i]!)
    const value = raw[i + 1]!.toString('latin1')
    const joined = Object.hasOwn(flat, name) ? `${flat[name]}, ${value}` : value
    if (name === '__proto__') Object.defineProperty(flat, name, { value: joined, enumerable: true, writable: true })
    else flat[name] = joined
  }
  return flat
}

function connectionError(url: string, detail: string, cause?: unknown): HookbridgeError {
  return new HookbridgeError('HOOKBRIDGE_DELIVERY_CONNECTION', { url, detail }, cause === undefined ? {} : { cause })
}

// Node and undici messages name hosts, addresses and header names, never header values; we never hand undici
// the userinfo, so it cannot echo it.
function describeError(err: unknown): string {
  const { code, message, errors } = (err ?? {}) as { code?: unknown; message?: unknown; errors?: unknown[] }
  // Happy-eyeballs connects fail with an AggregateError whose own message is empty.
  const inner = errors?.[0] as { message?: unknown } | undefined
  const text = String(message || inner?.message || 'unknown error')
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text
}
