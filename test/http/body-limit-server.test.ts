// The body limit on a real HTTP server, where the body is read from Node's IncomingMessage rather than from a web
// stream (app.request() in src/http/middleware/body-limit.test.ts covers that path): exact bytes, chunked bodies,
// refusals before and while reading, JSON bodies, and clients that go away mid-body.
import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { startHttpServer } from '../../src/http/server.js'
import { waitFor } from '../helpers/wait.js'
import { type TestApp, testApp } from './fakes.js'

const limit = 64 * 1024
const cleanups: Array<() => Promise<unknown> | unknown> = []

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function serve(config: Record<string, unknown> = {}): Promise<TestApp & { url: string }> {
  const test = testApp({ maxBodyBytes: limit, ...config })
  const server = await startHttpServer(test.app, { host: '127.0.0.1', port: 0 })
  cleanups.push(() => server.close())
  return { ...test, url: `http://127.0.0.1:${server.port}` }
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** POST the chunks one write at a time: with `Transfer-Encoding: chunked` unless headers give a Content-Length. */
function post(url: string, chunks: Buffer[], headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunked = headers['content-length'] === undefined
    const req = request(url, {
      method: 'POST',
      headers: { ...(chunked && { 'transfer-encoding': 'chunked' }), ...headers },
    })
    let answered = false
    req.on('response', (res) => {
      answered = true
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    // The server may close the connection once it has answered; writes after that fail harmlessly.
    req.on('error', (err) => {
      if (!answered) reject(err)
    })
    const write = (i: number) => {
      if (i === chunks.length || answered) return req.end()
      req.write(chunks[i], () => setImmediate(() => write(i + 1)))
    }
    write(0)
  })
}

describe('body limit on a real server', () => {
  it('publishes a chunked body of exactly the limit, bytes unchanged', async () => {
    const { url, publisher } = await serve()
    const chunks = Array.from({ length: 16 }, (_, i) => Buffer.alloc(limit / 16, i))
    const res = await post(`${url}/v1/publish/t`, chunks)
    expect(res.status).toBe(200)
    expect(publisher.calls).toHaveLength(1)
    expect(publisher.calls[0].payload.equals(Buffer.concat(chunks))).toBe(true)
  })

  it('publishes a body with a Content-Length, and an empty one', async () => {
    const { url, publisher } = await serve()
    const body = Buffer.from('{"celsius":21.5}')
    expect((await post(`${url}/v1/publish/a`, [body], { 'content-length': String(body.length) })).status).toBe(200)
    expect((await post(`${url}/v1/publish/b`, [], { 'content-length': '0' })).status).toBe(200)
    expect(publisher.calls.map((call) => [call.topic, call.payload.toString()])).toEqual([
      ['a', '{"celsius":21.5}'],
      ['b', ''],
    ])
  })

  it('answers 413 from a Content-Length over the limit, closing the connection, and publishes nothing', async () => {
    const { url, publisher } = await serve()
    const body = Buffer.alloc(limit + 1, 0x61)
    const res = await post(`${url}/v1/publish/t`, [body], { 'content-length': String(body.length) })
    expect(res.status).toBe(413)
    expect(res.headers.connection).toBe('close')
    expect(JSON.parse(res.body).error.code).toBe('HOOKBRIDGE_BODY_TOO_LARGE')
    expect(publisher.calls).toHaveLength(0)
  })

  it('answers 413 to a chunked body as soon as it passes the limit, and publishes nothing', async () => {
    const { url, publisher } = await serve()
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(16 * 1024, 0x61))
    const res = await post(`${url}/v1/publish/t`, chunks)
    expect(res.status).toBe(413)
    expect(res.headers.connection).toBe('close')
    expect(JSON.parse(res.body).error.code).toBe('HOOKBRIDGE_BODY_TOO_LARGE')
    expect(publisher.calls).toHaveLength(0)
    // The server is still there for the next request.
    expect((await post(`${url}/v1/publish/next`, [Buffer.from('x')])).status).toBe(200)
  })

  it('gives JSON routes the body it read (POST /v1/publish)', async () => {
    const { url, publisher } = await serve()
    const body = Buffer.from(JSON.stringify({ topic: 'j/1', payload: { celsius: 21.5 } }))
    const res = await post(`${url}/v1/publish`, [body.subarray(0, 10), body.subarray(10)], {
      'content-type': 'application/json',
    })
    expect(res.status).toBe(200)
    expect(publisher.calls[0].topic).toBe('j/1')
    expect(JSON.parse(publisher.calls[0].payload.toString())).toEqual({ celsius: 21.5 })
  })

  it('publishes nothing for a request whose client goes away mid-body, and keeps serving', async () => {
    const { url, publisher } = await serve()
    const req = request(`${url}/v1/publish/cut`, { method: 'POST', headers: { 'content-length': '1000' } })
    req.on('error', () => {})
    const closed = new Promise((resolve) => req.on('close', resolve))
    // Half the body, then the connection goes; the server must neither publish nor wait on it.
    req.write(Buffer.alloc(500, 0x61), () => req.destroy())
    await closed
    expect((await post(`${url}/v1/publish/after`, [Buffer.from('x')])).status).toBe(200)
    await waitFor(() => publisher.calls.length === 1, { what: 'the publish after the cut request' })
    expect(publisher.calls.map((call) => call.topic)).toEqual(['after'])
  })
})
