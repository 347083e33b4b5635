// Reads the request body once, counting the bytes actually received: a Content-Length over the limit is refused
// before reading, and a chunked body (or one whose Content-Length is wrong) is cut off as soon as it passes it.
// The bytes are then available as c.get('body') and to c.req.json().
import type { MiddlewareHandler } from 'hono'
import { HookbridgeError } from '../../errors.js'
import type { AppEnv } from '../app.js'

const EMPTY = Buffer.alloc(0)

export function createBodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => new HookbridgeError('HOOKBRIDGE_BODY_TOO_LARGE', { maxBytes })
  return async (c, next) => {
    const raw = c.req.raw
    const declared = raw.headers.get('content-length')
    const declaredBytes = declared === null ? undefined : Number(declared)
    if (declaredBytes !== undefined && declaredBytes > maxBytes) throw tooLarge()
    if (raw.body === null) {
      c.set('body', EMPTY)
      return next()
    }
    const chunks: Uint8Array[] = []
    let size = 0
    const reader = raw.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > maxBytes) {
        reader.cancel().catch(() => {})
        throw tooLarge()
      }
      chunks.push(value)
    }
    if (declaredBytes !== undefined && declaredBytes !== size) {
      throw new HookbridgeError('HOOKBRIDGE_REQUEST_INVALID', {
        detail: `Content-Length says ${declared} bytes but the body has ${size}`,
      })
    }
    const body = Buffer.concat(chunks, size)
    c.set('body', body)
    // c.req.json() and the zod validators read from this cache instead of the consumed stream.
    const copy = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer
    // (Hono types the cache entries as values, but stores and reads promises.)
    ;(c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(copy)
    return next()
  }
}
