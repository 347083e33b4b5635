// The publish API against a real broker (aedes, MQTT 3.1.1) whose PUBACKs the test controls.
import { request } from 'node:http'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startAedes, type TestBroker } from '../helpers/aedes.js'
import { waitFor } from '../helpers/wait.js'
import { type Bridge, type Subscriber, startBridge, startSubscriber } from './harness.js'

let broker: TestBroker
let bridge: Bridge | undefined
let subscriber: Subscriber | undefined
let brokerClosed = false

beforeEach(async () => {
  broker = await startAedes()
  brokerClosed = false
})

afterEach(async () => {
  await subscriber?.close()
  await bridge?.close()
  if (!brokerClosed) await broker.close()
  subscriber = undefined
  bridge = undefined
})

const post = (path: string, body: string | Buffer = 'x', headers: Record<string, string> = {}) =>
  fetch(`${bridge!.url}${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers,
  })

describe('publish through aedes (MQTT 3.1.1)', () => {
  it('answers 200 only after the PUBACK, which the test holds back', async () => {
    bridge = await startBridge(broker.url, { protocolVersion: 4 })
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      broker.aedes.authorizePublish = (_client, packet, callback) => {
        if (packet.topic !== 'held/1') return callback(null)
        release = () => callback(null)
        resolve()
      }
    })
    let answered = false
    const response = post('/v1/publish/held/1').then((res) => {
      answered = true
      return res
    })
    await held
    // The broker has the PUBLISH but no PUBACK was sent. Only waiting can show that no answer comes early.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(answered).toBe(false)
    release()
    const res = await response
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ topic: 'held/1', qos: 1, retain: false, messageId: expect.any(Number) })
  })

  it('answers 504 when no PUBACK comes in time, and never sends that message again', async () => {
    bridge = await startBridge(broker.url, { protocolVersion: 4, config: { requestTimeoutMs: 300 } })
    const authorized: string[] = []
    broker.aedes.authorizePublish = (_client, packet, callback) => {
      authorized.push(packet.topic)
      if (packet.topic !== 'lost/1') callback(null) // lost/1 is never acknowledged
    }
    const started = Date.now()
    const res = await post('/v1/publish/lost/1')
    expect(res.status).toBe(504)
    expect(Date.now() - started).toBeLessThan(300 + 2_000)
    const { error } = await res.json()
    expect(error.code).toBe('HOOKBRIDGE_PUBLISH_UNCONFIRMED')
    expect(error.message).toContain('unconfirmed')

    // A reconnect is when MQTT.js resends what is left in its outgoing store: nothing must be left.
    const client = bridge.client
    client.stream.destroy()
    await waitFor(() => !client.connected, { what: 'the disconnect' })
    await waitFor(() => client.connected, { what: 'the reconnect' })
    expect((await post('/v1/publish/marker/1')).status).toBe(200)
    expect(authorized.filter((topic) => topic === 'lost/1')).toHaveLength(1)
    expect(Object.keys(client.outgoing)).toHaveLength(0)
  })

  it('does not hold up a graceful MQTT disconnect while a PUBACK is missing', async () => {
    bridge = await startBridge(broker.url, { protocolVersion: 4, config: { requestTimeoutMs: 300 } })
    broker.aedes.authorizePublish = (_client, packet, callback) => {
      if (packet.topic !== 'lost/1') callback(null)
    }
    const response = post('/v1/publish/lost/1')
    await waitFor(() => Object.keys(bridge!.client.outgoing).length === 1, { what: 'the message in flight' })
    // MQTT.js's end() waits until nothing awaits an ack: the timeout's withdrawal must count as that.
    const ended = bridge.client.endAsync(false)
    expect((await response).status).toBe(504)
    await ended
  })

  it('delivers the payload bytes unchanged with the QoS and retain flag asked for', async () => {
    bridge = await startBridge(broker.url, { protocolVersion: 4 })
    subscriber = await startSubscriber(broker.url, 'bytes/#', 4)
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    expect((await post('/v1/publish/bytes/1?qos=1', payload)).status).toBe(200)
    expect((await post('/v1/publish/bytes/0?qos=0', payload)).status).toBe(202)
    const [one] = await subscriber.until('bytes/0')
    expect(one.payload.equals(payload)).toBe(true)
    expect(one.packet.qos).toBe(1)
    expect(subscriber.messages[1].packet.qos).toBe(0)

    expect((await post('/v1/publish/bytes/kept?retain=true', 'kept')).status).toBe(200)
    const late = await startSubscriber(broker.url, 'bytes/kept', 4)
    try {
      await late.until('bytes/kept')
      expect(late.messages[0].packet.retain).toBe(true)
      expect(late.messages[0].payload.toString()).toBe('kept')
    } finally {
      await late.close()
    }
  })

  it('refuses MQTT 5 properties on a 3.1.1 connection instead of dropping them', async () => {
    bridge = await startBridge(broker.url, { protocolVersion: 4 })
    const res = await post('/v1/publish/p?responseTopic=r')
    expect(res.status).toBe(400)
    expect((await res.json()).error.code).toBe('HOOKBRIDGE_PROPERTIES_UNSUPPORTED')
  })

  it('publishes an idempotent repeat once', async () => {
    bridge = await startBridge(broker.url, { protocolVersion: 4 })
    subscriber = await startSubscriber(broker.url, '#', 4)
    const first = await post('/v1/publish/once/1', 'x', { 'idempotency-key': 'order-42' })
    const again = await post('/v1/publish/once/1', 'x', { 'idempotency-key': 'order-42' })
    expect(await again.json()).toEqual(await first.json())
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect((await post('/v1/publish/marker/1')).status).toBe(200)
    const before = await subscriber.until('marker/1')
    expect(before.map((m) => m.topic)).toEqual(['once/1'])
  })

  it('answers 413 to a chunked body over the limit and publishes nothing', async () => {
    bridge = await startBridge(broker.url, { protocolVersion: 4, config: { maxBodyBytes: 64 * 1024 } })
    subscriber = await startSubscriber(broker.url, '#', 4)
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(16 * 1024, 0x61))
    const res = await postChunked(`${bridge.url}/v1/publish/big/1`, chunks)
    expect(res.status).toBe(413)
    expect(JSON.parse(res.body).error.code).toBe('HOOKBRIDGE_BODY_TOO_LARGE')
    expect((await post('/v1/publish/marker/1')).status).toBe(200)
    expect(await subscriber.until('marker/1')).toEqual([])
  })

  it('answers 503 with Retry-After at once when the broker is gone', async () => {
    bridge = await startBridge(broker.url, { protocolVersion: 4, config: { requestTimeoutMs: 2_000 } })
    await broker.close()
    brokerClosed = true
    await waitFor(() => !bridge!.client.connected, { what: 'the client to notice' })
    const started = Date.now()
    const res = await post('/v1/publish/t')
    expect(res.status).toBe(503)
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect((await res.json()).error.code).toBe('HOOKBRIDGE_BROKER_UNAVAILABLE')
    expect((await fetch(`${bridge.url}/readyz`)).status).toBe(503)
  })
})

/** POST with `Transfer-Encoding: chunked` (no Content-Length), one write per chunk. */
function postChunked(url: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } })
    let answered = false
    req.on('response', (res) => {
      answered = true
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
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
