import { once } from 'node:events'
import { createServer, type Server, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../../test/helpers/ports.js'
import { startReceiver, type TestReceiver } from '../../test/helpers/receiver.js'
import type { OutgoingRequest } from '../spool/spool.js'
import { createSender, parseRetryAfter, type Sender, type SenderOptions, safeUrl } from './send.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function sender(options?: SenderOptions): Sender {
  const created = createSender(options)
  cleanups.push(() => created.close())
  return created
}

async function receiver(): Promise<TestReceiver> {
  const started = await startReceiver()
  cleanups.push(() => started.close())
  return started
}

/** A bare node:http server that records each request's client port (one port = one connection). */
async function portCountingServer(
  answer: (path: string, res: ServerResponse) => void,
): Promise<{ url: string; ports: number[] }> {
  const ports: number[] = []
  const server: Server = createServer((req, res) => {
    ports.push(req.socket.remotePort ?? -1)
    req.resume()
    req.on('end', () => answer(req.url ?? '/', res))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanups.push(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { url: `http://127.0.0.1:${address.port}`, ports }
}

const post = (url: string, body = '{"t":21.5}', headers: Record<string, string> = {}): OutgoingRequest => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json', ...headers },
  body: Buffer.from(body),
})

describe('send', () => {
  it('delivers the request and returns status, headers and body', async () => {
    const rx = await receiver()
    rx.respond(() => ({ status: 201, headers: { 'x-reply': 'yes', 'content-type': 'text/plain' }, body: 'stored' }))
    const result = await sender().send(post(`${rx.url}/hook?a=1`, '{"t":21.5}', { 'x-trace': 'abc' }), 5000)
    expect(result.error).toBeUndefined()
    expect(result.status).toBe(201)
    expect(result.headers?.['x-reply']).toBe('yes')
    expect(result.body?.toString()).toBe('stored')
    expect(result.durationMs).toBeGreaterThanOrEqual(0)
    const [received] = rx.requests
    expect(received.method).toBe('POST')
    expect(received.path).toBe('/hook?a=1')
    expect(received.body.toString()).toBe('{"t":21.5}')
    expect(received.headers['content-length']).toBe('10')
    expect(received.headers['x-trace']).toBe('abc')
  })

  it('returns repeated response headers joined, names lower-cased', async () => {
    const server = await portCountingServer((_, res) => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2'])
      res.setHeader('X-Constructor', 'x')
      res.setHeader('constructor', 'c')
      res.end('ok')
    })
    const result = await sender().send(post(`${server.url}/h`), 5000)
    expect(result.headers).toMatchObject({ 'set-cookie': 'a=1, b=2', 'x-constructor': 'x', constructor: 'c' })
    expect(result.body?.toString()).toBe('ok')
  })

  it('returns a 500 as a status, not an error', async () => {
    const rx = await receiver()
    rx.respond(() => ({ status: 500, body: 'boom' }))
    const result = await sender().send(post(rx.url), 5000)
    expect(result.error).toBeUndefined()
    expect(result.status).toBe(500)
    expect(result.body?.toString()).toBe('boom')
  })

  it('parses Retry-After in seconds and as an HTTP-date', async () => {
    const rx = await receiver()
    const s = sender()
    rx.respond(() => ({ status: 503, headers: { 'retry-after': '120' } }))
    expect(await s.send(post(rx.url), 5000)).toMatchObject({ status: 503, retryAfterMs: 120_000 })
    rx.respond(() => ({ status: 429, headers: { 'retry-after': new Date(Date.now() + 90_000).toUTCString() } }))
    const dated = await s.send(post(rx.url), 5000)
    expect(dated.status).toBe(429)
    expect(dated.retryAfterMs).toBeGreaterThan(80_000)
    expect(dated.retryAfterMs).toBeLessThanOrEqual(90_000)
    rx.respond(() => ({ status: 503 }))
    expect((await s.send(post(rx.url), 5000)).retryAfterMs).toBeUndefined()
  })

  it('times out on a receiver that never answers', async () => {
    const rx = await receiver()
    rx.respond(() => ({ hang: true }))
    const started = Date.now()
    const result = await sender().send(post(`${rx.url}/slow`), 200)
    expect(result.error?.code).toBe('HOOKBRIDGE_DELIVERY_TIMEOUT')
    expect(result.error?.details).toEqual({ url: `${rx.url}/slow`, timeoutMs: 200 })
    expect(result.status).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it('times out on a body that stalls after the headers', async () => {
    const server = await portCountingServer((_, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('partial')
    })
    const result = await sender().send(post(`${server.url}/stall`), 200)
    expect(result.error?.code).toBe('HOOKBRIDGE_DELIVERY_TIMEOUT')
    expect(result.error?.details).toMatchObject({ timeoutMs: 200, status: 200 })
    expect(result.status).toBeUndefined()
  })

  it('reports a reset connection as a connection error without header values or userinfo', async () => {
    const rx = await receiver()
    rx.respond(() => ({ reset: true }))
    const url = `http://hook:pa55word@127.0.0.1:${rx.port}/hook?token=t0ken`
    const result = await sender().send(post(url, '{}', { authorization: 'Bearer s3cret' }), 5000)
    expect(result.error?.code).toBe('HOOKBRIDGE_DELIVERY_CONNECTION')
    expect(result.error?.message).toMatch(/^Could not reach http:\/\/127\.0\.0\.1:\d+\/hook: /)
    expect(JSON.stringify([result.error?.message, result.error?.details])).not.toMatch(/pa55word|s3cret|t0ken|hook:pa/)
  })

  it('reports a port with nothing listening as a connection error', async () => {
    const port = await freePort()
    const result = await sender().send(post(`http://127.0.0.1:${port}/hook`), 5000)
    expect(result.error?.code).toBe('HOOKBRIDGE_DELIVERY_CONNECTION')
    expect(result.error?.message).toContain('ECONNREFUSED')
  })

  it('turns userinfo into basic auth', async () => {
    const rx = await receiver()
    const result = await sender().send(post(`http://hook:pa%3Ass@127.0.0.1:${rx.port}/`), 5000)
    expect(result.status).toBe(200)
    expect(rx.requests[0].headers.authorization).toBe(`Basic ${Buffer.from('hook:pa:ss').toString('base64')}`)
  })

  it('reuses connections across sequential requests', async () => {
    const server = await portCountingServer((_, res) => res.end('ok'))
    const s = sender()
    for (let i = 0; i < 50; i++) {
      const result = await s.send(post(`${server.url}/n/${i}`), 5000)
      expect(result.status).toBe(200)
    }
    expect(server.ports).toHaveLength(50)
    expect(new Set(server.ports).size).toBeLessThanOrEqual(2)
  })

  it('truncates a large response body to maxResponseBytes and keeps the connection', async () => {
    const large = Buffer.alloc(4 * 1024 * 1024, 'x')
    const server = await portCountingServer((path, res) => res.end(path === '/large' ? large : 'small'))
    const s = sender({ maxResponseBytes: 1024 })
    const result = await s.send(post(`${server.url}/large`), 10_000)
    expect(result.error).toBeUndefined()
    expect(result.status).toBe(200)
    expect(result.body?.length).toBe(1024)
    // The rest was drained, not cut off: the connection serves later requests. (undici frees it a tick after
    // the body ends, so the very next request may still open a second one.)
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve))
      expect((await s.send(post(`${server.url}/small`), 10_000)).body?.toString()).toBe('small')
    }
    expect(server.ports.slice(1)).toContain(server.ports[0])
  })

  it('rejects a URL it cannot send to, without throwing', async () => {
    const s = sender()
    expect((await s.send(post('ftp://example.com/x'), 1000)).error?.code).toBe('HOOKBRIDGE_DELIVERY_INVALID_REQUEST')
    expect((await s.send(post('not a url'), 1000)).error?.message).toBe(
      'The request to (invalid URL) cannot be sent: Invalid URL. Fix the rule; retrying would not help.',
    )
  })
})

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z')
  it.each([
    ['0', 0],
    [' 30 ', 30_000],
    ['Wed, 01 Jan 2025 00:01:00 GMT', 60_000],
    ['Tue, 31 Dec 2024 23:00:00 GMT', 0],
    ['Wednesday, 01-Jan-25 00:00:10 GMT', 10_000],
    ['1.5', undefined],
    ['-5', undefined],
    ['soon', undefined],
    [undefined, undefined],
  ])('%j -> %j', (value, expected) => expect(parseRetryAfter(value, now)).toBe(expected))
})

describe('safeUrl', () => {
  it('drops userinfo and query', () => {
    expect(safeUrl('https://u:p@example.com:8443/a/b?key=secret#frag')).toBe('https://example.com:8443/a/b')
  })
})
