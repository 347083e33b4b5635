// The listening server: SSE to real HTTP clients through a real broker, bounded slow readers, port conflicts,
// and a close() that ends streams and idle keep-alive sockets promptly.
import { Agent, request } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { isHookbridgeError } from '../../src/errors.js'
import { startHttpServer } from '../../src/http/server.js'
import { startAedes, type TestBroker } from '../helpers/aedes.js'
import { waitFor } from '../helpers/wait.js'
import { testApp } from './fakes.js'
import { type Bridge, sseReader, startBridge } from './harness.js'

let broker: TestBroker | undefined
let bridge: Bridge | undefined
const cleanups: Array<() => Promise<unknown> | unknown> = []

beforeEach(async () => {
  broker = await startAedes()
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  await bridge?.close()
  await broker?.close()
  bridge = undefined
})

describe('GET /v1/subscribe over a real connection', () => {
  it('streams the messages published to the broker to an HTTP client', async () => {
    bridge = await startBridge(broker!.url, { protocolVersion: 4 })
    const controller = new AbortController()
    cleanups.push(() => controller.abort())
    const res = await fetch(`${bridge.url}/v1/subscribe?topic=${encodeURIComponent('sse/+/temp')}`, {
      signal: controller.signal,
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const events = sseReader(res.body!)
    expect(await events.next()).toEqual({ event: 'subscribed', data: '{"filter":"sse/+/temp"}', id: undefined })

    const post = (topic: string, body: string) => fetch(`${bridge!.url}/v1/publish/${topic}`, { method: 'POST', body })
    expect((await post('sse/kitchen/temp', '21.5')).status).toBe(200)
    expect((await post('sse/kitchen/humidity', '40')).status).toBe(200) // not matched
    expect((await post('sse/hall/temp', '19')).status).toBe(200)
    const first = await events.next()
    expect(first).toMatchObject({ event: 'message', id: '1' })
    expect(JSON.parse(first!.data)).toEqual({
      topic: 'sse/kitchen/temp',
      payload: '21.5',
      encoding: 'utf8',
      qos: 1,
      retain: false,
    })
    expect(JSON.parse((await events.next())!.data).topic).toBe('sse/hall/temp')
  })

  it('ends open streams with a close event when the server closes, and closes promptly', async () => {
    bridge = await startBridge(broker!.url, { protocolVersion: 4 })
    const res = await fetch(`${bridge.url}/v1/subscribe?topic=a`)
    const events = sseReader(res.body!)
    expect((await events.next())?.event).toBe('subscribed')
    const started = Date.now()
    await bridge.server.close()
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(await events.next()).toEqual({ event: 'close', data: '{"reason":"server shutting down"}', id: undefined })
    expect(await events.next()).toBeUndefined()
  })
})

describe('slow SSE readers', () => {
  it('hold at most api.sse.maxBufferedMessages and are told how many messages they missed', async () => {
    const { app, live } = testApp({ sse: { maxBufferedMessages: 5 } })
    const server = await startHttpServer(app, { host: '127.0.0.1', port: 0 })
    cleanups.push(() => server.close())
    const res = await openPaused(`http://127.0.0.1:${server.port}/v1/subscribe?topic=big`)
    cleanups.push(() => res.destroy())
    await waitFor(() => live.subscriptions.size === 1, { what: 'the subscription' })
    // 800 x 64 KiB = 50 MiB, one message per turn of the event loop so that the server could write each one:
    // a server that buffered for the reader would skip nothing. The socket buffers take a few MiB at most.
    const payload = Buffer.alloc(64 * 1024, 0x61)
    for (let i = 0; i < 800; i++) {
      live.emit({ topic: 'big', payload })
      await new Promise((resolve) => setImmediate(resolve))
    }
    res.resume()
    const text = await readUntil(res, '"count"')
    const skipped = /event: skipped\ndata: \{"count":(\d+)\}/.exec(text)
    expect(skipped).not.toBeNull()
    expect(Number(skipped![1])).toBeGreaterThan(400)
  })
})

describe('startHttpServer', () => {
  it('answers HOOKBRIDGE_HTTP_PORT_IN_USE when the port is taken', async () => {
    const { app } = testApp()
    const first = await startHttpServer(app, { host: '127.0.0.1', port: 0 })
    cleanups.push(() => first.close())
    const error = await startHttpServer(app, { host: '127.0.0.1', port: first.port }).catch((err: unknown) => err)
    expect(isHookbridgeError(error, 'HOOKBRIDGE_HTTP_PORT_IN_USE')).toBe(true)
    expect((error as Error).message).toContain(`127.0.0.1:${first.port}`)
  })

  it('closes idle keep-alive connections at once', async () => {
    const { app } = testApp()
    const server = await startHttpServer(app, { host: '127.0.0.1', port: 0 })
    const agent = new Agent({ keepAlive: true })
    cleanups.push(() => agent.destroy())
    const status = await new Promise<number>((resolve, reject) => {
      request(`http://127.0.0.1:${server.port}/healthz`, { agent }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
        .on('error', reject)
        .end()
    })
    expect(status).toBe(200)
    const started = Date.now()
    await server.close()
    expect(Date.now() - started).toBeLessThan(500)
  })
})

function openPaused(url: string): Promise<import('node:http').IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      res.pause()
      resolve(res)
    })
    req.on('error', reject)
    req.end()
  })
}

function readUntil(res: import('node:http').IncomingMessage, marker: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const onData = (chunk: Buffer) => {
      // Keep only the tail: the payloads are large and only the events' framing matters.
      text = (text + chunk.toString('latin1')).slice(-200_000)
      if (text.includes(marker)) {
        res.off('data', onData)
        resolve(text)
      }
    }
    res.on('data', onData)
    res.on('error', reject)
    res.on('end', () => reject(new Error(`stream ended before ${marker}`)))
  })
}
