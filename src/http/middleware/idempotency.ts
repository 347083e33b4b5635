// Idempotency-Key: within api.idempotencyWindowMs a repeat of a request gets the first answer and publishes
// nothing, also while the first is still in flight. Keys are per token, bounded by api.idempotencyMaxKeys
// (oldest forgotten first). Answers meaning "nothing or maybe something was published, retry" (500, 503, 504) are
// not kept, so a retry after them really publishes.
import { createHash } from 'node:crypto'
import type { Context, MiddlewareHandler } from 'hono'
import { HookbridgeError } from '../../errors.js'
import type { AppEnv } from '../app.js'
import { requestHeader } from '../request-headers.js'

export interface IdempotencyOptions {
  windowMs: number
  maxKeys: number
  now?: () => number
}

interface Answer {
  status: number
  headers: [string, string][]
  body: Uint8Array
}

interface Entry {
  fingerprint: string
  expiresAt: number
  answer: Promise<Answer>
}

const KEY = /^[!-~]{1,255}$/
const RETRY_STATUSES = new Set([500, 503, 504])
const NOT_REPLAYED = new Set(['content-length', 'connection', 'transfer-encoding', 'keep-alive'])

export function createIdempotency(options: IdempotencyOptions): MiddlewareHandler<AppEnv> {
  const { windowMs, maxKeys } = options
  const now = options.now ?? Date.now
  // Insertion order is expiry order (the window is the same for all), so expired entries are at the front.
  const entries = new Map<string, Entry>()

  function forgetExpired(at: number): void {
    for (const [key, entry] of entries) {
      if (entry.expiresAt > at) break
      entries.delete(key)
    }
  }

  // Without the header (most requests) straight to the next step, without an await of our own.
  return (c, next) => {
    const key = requestHeader(c, 'idempotency-key')
    return key === undefined ? next() : once(c, next, key)
  }

  async function once(c: Context<AppEnv>, next: () => Promise<void>, key: string): Promise<Response | undefined> {
    if (!KEY.test(key)) {
      throw new HookbridgeError('HOOKBRIDGE_REQUEST_INVALID', {
        detail: 'Idempotency-Key must be 1 to 255 visible ASCII characters',
      })
    }
    const at = now()
    forgetExpired(at)
    const scoped = `${c.get('principal').name}\n${key}`
    const fingerprint = fingerprintOf(c)
    const existing = entries.get(scoped)
    if (existing !== undefined) {
      if (existing.fingerprint !== fingerprint) {
        throw new HookbridgeError('HOOKBRIDGE_IDEMPOTENCY_KEY_REUSED', { key, windowMs })
      }
      return replay(await existing.answer)
    }

    let settle!: (answer: Answer) => void
    let fail!: (err: unknown) => void
    const answer = new Promise<Answer>((resolve, reject) => {
      settle = resolve
      fail = reject
    })
    answer.catch(() => {})
    const entry: Entry = { fingerprint, expiresAt: at + windowMs, answer }
    while (entries.size >= maxKeys) entries.delete(entries.keys().next().value!)
    entries.set(scoped, entry)

    const forget = () => {
      if (entries.get(scoped) === entry) entries.delete(scoped)
    }
    try {
      await next() // errors are turned into c.res by app.onError inside next()
      const captured = await capture(c)
      if (RETRY_STATUSES.has(captured.status) || c.get('retryable')) forget()
      settle(captured)
    } catch (err) {
      forget()
      fail(err)
      throw err
    }
    return undefined
  }
}

function fingerprintOf(c: Context<AppEnv>): string {
  const url = new URL(c.req.url)
  return createHash('sha256')
    .update(`${c.req.method}\n${url.pathname}${url.search}\n${c.req.header('content-type') ?? ''}\n`)
    .update(c.get('body'))
    .digest('hex')
}

async function capture(c: Context): Promise<Answer> {
  const res = c.res
  const body = new Uint8Array(await res.arrayBuffer())
  const headers: [string, string][] = []
  res.headers.forEach((value, name) => {
    if (!NOT_REPLAYED.has(name)) headers.push([name, value])
  })
  c.res = undefined // Hono: drop the consumed response before setting its copy
  c.res = new Response(body, { status: res.status, headers: res.headers })
  return { status: res.status, headers, body }
}

function replay(answer: Answer): Response {
  const headers = new Headers(answer.headers)
  headers.set('Idempotent-Replayed', 'true')
  return new Response(answer.body.slice(), { status: answer.status, headers })
}
