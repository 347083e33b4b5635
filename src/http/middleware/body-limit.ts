// Reads the request body once, counting the bytes actually received: a Content-Length over the limit is refused
// before reading, and a chunked body (or one whose Content-Length is wrong) is cut off as soon as it passes it.
// The bytes are then available as c.get('body') and to c.req.json().
//
// Behind @hono/node-server the body is read from Node's IncomingMessage (c.env.incoming): touching
// c.req.raw.body would make the adapter build a web Request and a web ReadableStream for every request, which
// cost about half the CPU of a publish. Elsewhere (app.request() in tests, other runtimes) the web stream is read.
import type { IncomingMessage } from 'node:http'
import type { MiddlewareHandler } from 'hono'
import { HookbridgeError } from '../../errors.js'
import type { AppEnv } from '../app.js'
import type { NodeBindings } from '../request-headers.js'

const EMPTY = Buffer.alloc(0)

export function createBodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () => new HookbridgeError('HOOKBRIDGE_BODY_TOO_LARGE', { maxBytes })
  return async (c, next) => {
    const incoming = (c.env as NodeBindings | undefined)?.incoming
    const declared = incoming ? incoming.headers['content-length'] : c.req.raw.headers.get('content-length')
    const declaredBytes = declared === undefined || declared === null ? undefined : Number(declared)
    if (declaredBytes !== undefined && declaredBytes > maxBytes) throw tooLarge()
    const method = c.req.method
    let body: Buffer
    if (method === 'GET' || method === 'HEAD') body = EMPTY
    else if (incoming) body = await readIncoming(incoming, maxBytes, tooLarge)
    else if (c.req.raw.body === null) body = EMPTY
    else body = await readStream(c.req.raw.body, maxBytes, tooLarge)
    if (declaredBytes !== undefined && declaredBytes !== body.length) {
      throw new HookbridgeError('HOOKBRIDGE_REQUEST_INVALID', {
        detail: `Content-Length says ${declared} bytes but the body has ${body.length}`,
      })
    }
    c.set('body', body)
    // c.req.json() and the zod validators read from this cache instead of the consumed stream. `body` is a view
    // of its own ArrayBuffer (see concat), so no copy is needed; nothing writes to either.
    // (Hono types the cache entries as values, but stores and reads promises.)
    ;(c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(body.buffer as ArrayBuffer)
    return next()
  }
}

/** The chunks in a Buffer over an ArrayBuffer of exactly their size (not a slice of a pool or a socket read). */
function concat(chunks: Uint8Array[], size: number): Buffer {
  if (size === 0) return Buffer.from(new ArrayBuffer(0))
  const bytes = new Uint8Array(new ArrayBuffer(size))
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return Buffer.from(bytes.buffer, 0, size)
}

function readIncoming(incoming: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  // Read before (by nobody, as the adapter reads only on demand) or a body-less request already at its end.
  if (incoming.readableEnded) return Promise.resolve(concat([], 0))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const finish = (err?: Error) => {
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
      incoming.off('close', onClose)
      if (err === undefined) return resolve(concat(chunks, size))
      // Stop reading; the adapter drains or closes what is left once the answer (413, Connection: close) is sent.
      incoming.pause()
      reject(err)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) return finish(tooLarge())
      chunks.push(chunk)
    }
    const onEnd = () => finish()
    const onError = (err: Error) => finish(err)
    const onClose = () => finish(new Error('the connection closed before the request body was received'))
    incoming.on('data', onData)
    incoming.on('end', onEnd)
    incoming.on('error', onError)
    incoming.on('close', onClose)
  })
}

async function readStream(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = stream.getReader()
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
  return concat(chunks, size)
}
