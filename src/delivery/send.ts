// One HTTP attempt: send an OutgoingRequest with undici and report what happened. Never throws, never logs;
// whether to retry is retry-policy.ts's decision and acting on it is the worker's.
import { Agent, type Dispatcher } from 'undici'
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

  async function send(request: OutgoingRequest, timeoutMs: number): Promise<SendResult> {
    const started = performance.now()
    const elapsed = () => Math.round(performance.now() - started)
    const url = safeUrl(request.url)
    let target: Dispatcher.RequestOptions
    try {
      target = prepare(request)
    } catch (err) {
      const detail = err instanceof Error ? err.message : 'invalid request'
      return { error: new HookbridgeError('HOOKBRIDGE_DELIVERY_INVALID_REQUEST', { url, detail }), durationMs: 0 }
    }
    if (closed) return { error: connectionError(url, 'the sender is closed'), durationMs: 0 }

    // One deadline for connect, headers and body: undici's own timeouts are per phase.
    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort()
    }, timeoutMs)
    let status: number | undefined
    try {
      const response = await agent.request({
        ...target,
        signal: controller.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      })
      status = response.statusCode
      const body = await readBody(response.body, maxResponseBytes)
      const headers = flattenHeaders(response.headers)
      const result: SendResult = { status, headers, body, durationMs: elapsed() }
      const retryAfterMs = parseRetryAfter(headers['retry-after'], Date.now())
      if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs
      return result
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code
      if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        // `status` is set when the headers came in time but the body did not.
        const details = status === undefined ? { url, timeoutMs } : { url, timeoutMs, status }
        return {
          error: new HookbridgeError('HOOKBRIDGE_DELIVERY_TIMEOUT', details, { cause: err }),
          durationMs: elapsed(),
        }
      }
      return { error: connectionError(url, describeError(err), err), durationMs: elapsed() }
    } finally {
      clearTimeout(timer)
    }
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

function prepare(request: OutgoingRequest): Dispatcher.RequestOptions {
  const url = new URL(request.url)
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported protocol ${url.protocol}`)
  const headers: Record<string, string> = {}
  let hasAuthorization = false
  for (const [name, value] of Object.entries(request.headers)) {
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
    path: `${url.pathname}${url.search}`,
    method: request.method as Dispatcher.HttpMethod,
    headers,
    body: bodyless ? null : request.body,
  }
}

/** Keeps the first maxBytes; reads and discards the rest so the connection can serve the next request. */
async function readBody(body: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let kept = 0
  try {
    for await (const chunk of body) {
      if (kept >= maxBytes) continue
      const part = chunk.length <= maxBytes - kept ? chunk : chunk.subarray(0, maxBytes - kept)
      chunks.push(part)
      kept += part.length
    }
  } catch (err) {
    // Everything we keep has arrived; a failure while discarding the rest only costs the connection.
    if (kept < maxBytes) throw err
  }
  return Buffer.concat(chunks, kept)
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value
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
