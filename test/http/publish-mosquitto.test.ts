// The publish API against a spawned mosquitto (MQTT 5): properties, reason codes, QoS 2, outages, order.
import { chmodSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js'
import { waitFor } from '../helpers/wait.js'
import { type Bridge, type Subscriber, startBridge, startSubscriber } from './harness.js'

let mosquitto: TestMosquitto
let bridge: Bridge | undefined
let subscriber: Subscriber | undefined

beforeAll(async () => {
  mosquitto = await startMosquitto()
})

afterAll(async () => {
  await mosquitto.close()
})

afterEach(async () => {
  await subscriber?.close()
  await bridge?.close()
  subscriber = undefined
  bridge = undefined
})

const post = (path: string, body: string | Buffer = 'x', headers: Record<string, string> = {}) =>
  fetch(`${bridge!.url}${path}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : new Uint8Array(body),
    headers,
  })

describe('publish through mosquitto (MQTT 5)', () => {
  it('delivers the bytes, QoS 2, retain and every MQTT 5 property intact', async () => {
    bridge = await startBridge(mosquitto.url, { protocolVersion: 5 })
    subscriber = await startSubscriber(mosquitto.url, 'props/#', 5)
    const payload = Buffer.from([0x00, 0xff, 0x7b, 0x0a, 0xe2, 0x82, 0xac])
    const res = await post(
      '/v1/publish/props/1?qos=2&retain=true&responseTopic=replies/9&correlationData=req-9&messageExpirySeconds=120',
      payload,
      { 'content-type': 'application/vnd.acme+cbor', 'mqtt-user-property': 'tenant=acme, trace=a%2Cb' },
    )
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ topic: 'props/1', qos: 2, retain: true, messageId: expect.any(Number) })
    await subscriber.until('props/1')
    const received = subscriber.messages.find((m) => m.topic === 'props/1')!
    expect(received.payload.equals(payload)).toBe(true)
    expect(received.packet.qos).toBe(2)
    const properties = received.packet.properties!
    expect(properties.contentType).toBe('application/vnd.acme+cbor')
    expect(properties.responseTopic).toBe('replies/9')
    expect(Buffer.from(properties.correlationData!).toString()).toBe('req-9')
    expect(properties.userProperties).toEqual({ tenant: 'acme', trace: 'a,b' })
    expect(properties.messageExpiryInterval).toBeGreaterThan(100)

    const late = await startSubscriber(mosquitto.url, 'props/1', 5)
    try {
      await late.until('props/1')
      expect(late.messages[0].packet.retain).toBe(true)
    } finally {
      await late.client.publishAsync('props/1', '', { retain: true, qos: 1 }) // clear the retained message
      await late.close()
    }
  })

  it('reports the PUBACK reason code: 16 when nobody subscribes', async () => {
    bridge = await startBridge(mosquitto.url, { protocolVersion: 5 })
    const res = await post('/v1/publish/nobody/listens')
    expect(res.status).toBe(200)
    expect((await res.json()).reasonCode).toBe(16)
  })

  it('sends a JSON batch in order, each item answered on its own', async () => {
    bridge = await startBridge(mosquitto.url, { protocolVersion: 5 })
    subscriber = await startSubscriber(mosquitto.url, 'order/#', 5)
    const items = Array.from({ length: 30 }, (_, i) => ({
      topic: 'order/x',
      payload: { i },
      qos: (i % 3) as 0 | 1 | 2,
    }))
    const res = await post('/v1/publish/batch', JSON.stringify([...items, { topic: 'order/end', payload: 'end' }]), {
      'content-type': 'application/json',
    })
    expect(res.status).toBe(200)
    const { results } = await res.json()
    expect(results.map((r: { status: number }) => r.status)).toEqual([
      ...items.map((it) => (it.qos === 0 ? 202 : 200)),
      200,
    ])
    await waitFor(() => subscriber!.messages.length === items.length + 1, { what: 'every message' })
    // MQTT orders messages per topic and QoS level (a QoS 2 message is released on PUBREL, later).
    for (const qos of [0, 1, 2]) {
      const received = subscriber.messages.filter((m) => m.topic === 'order/x' && m.packet.qos === qos)
      const sent = items.flatMap((item, i) => (item.qos === qos ? [i] : []))
      expect(received.map((m) => JSON.parse(m.payload.toString()).i)).toEqual(sent)
    }
  })

  it('answers 503 within the timeout while the broker is down, and publishes again once it is back', async () => {
    bridge = await startBridge(mosquitto.url, { protocolVersion: 5, config: { requestTimeoutMs: 3_000 } })
    await mosquitto.stop()
    try {
      await waitFor(() => !bridge!.client.connected, { what: 'the client to notice' })
      const started = Date.now()
      const res = await post('/v1/publish/outage/1')
      expect(res.status).toBe(503)
      expect(Date.now() - started).toBeLessThan(3_000)
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
      expect((await res.json()).error.code).toBe('HOOKBRIDGE_BROKER_UNAVAILABLE')
    } finally {
      await mosquitto.start()
    }
    await waitFor(() => bridge!.client.connected, { what: 'the reconnect' })
    expect((await post('/v1/publish/outage/2')).status).toBe(200)
  })

  it('keeps to the broker receive maximum: a batch larger than it still succeeds', async () => {
    const limited = await startMosquitto({ extraConfig: ['max_inflight_messages 2'] })
    try {
      bridge = await startBridge(limited.url, { protocolVersion: 5 })
      expect(bridge.client.serverProperties?.receiveMaximum).toBe(2)
      const items = Array.from({ length: 20 }, (_, i) => ({ topic: `rm/${i}`, payload: i, qos: 1 }))
      const res = await post('/v1/publish/batch', JSON.stringify(items), { 'content-type': 'application/json' })
      expect(res.status).toBe(200)
      expect(bridge.client.connected).toBe(true)
    } finally {
      await bridge?.close()
      bridge = undefined
      await limited.close()
    }
  })
})

describe('broker limits from the CONNACK', () => {
  it('refuses a message over the maximum packet size before sending it, and stays connected', async () => {
    const small = await startMosquitto({ extraConfig: ['max_packet_size 2000'] })
    try {
      bridge = await startBridge(small.url, { protocolVersion: 5 })
      expect(bridge.client.serverProperties?.maximumPacketSize).toBe(2000)
      const res = await post('/v1/publish/big/1', Buffer.alloc(4000))
      expect(res.status).toBe(502)
      expect((await res.json()).error).toMatchObject({ code: 'HOOKBRIDGE_PUBLISH_REJECTED', reasonCode: 0x95 })
      expect(bridge.client.connected).toBe(true)
      expect((await post('/v1/publish/big/2', Buffer.alloc(1000))).status).toBe(200)
    } finally {
      await bridge?.close()
      bridge = undefined
      await small.close()
    }
  })
})

describe('a broker that refuses', () => {
  let strict: TestMosquitto

  beforeAll(async () => {
    strict = await startMosquitto({ extraConfig: [] })
    await strict.stop()
    const acl = join(strict.dir, 'acl')
    writeFileSync(acl, 'topic readwrite open/#\ntopic read closed/#\n', { mode: 0o644 })
    chmodSync(strict.dir, 0o755) // mosquitto reads the ACL file after dropping root privileges
    // mosquitto 2.0.11 drops the connection after a denied QoS 1/2 PUBLISH when max_queued_messages is 0
    // (as the helper sets it): allow a queue here so that the denial itself is what the test sees.
    writeFileSync(join(strict.dir, 'mosquitto.conf'), `acl_file ${acl}\nmax_queued_messages 1000\n`, { flag: 'a' })
    await strict.start()
  })

  afterAll(async () => {
    await strict.close()
  })

  it('reports a denial (reason code 0x87) as 502, not as success', async () => {
    bridge = await startBridge(strict.url, { protocolVersion: 5 })
    expect((await post('/v1/publish/open/1')).status).toBe(200)
    for (const qos of [1, 2]) {
      const res = await post(`/v1/publish/closed/1?qos=${qos}`)
      const { error } = await res.json()
      expect({ status: res.status, error }).toMatchObject({
        status: 502,
        error: { code: 'HOOKBRIDGE_PUBLISH_REJECTED', reasonCode: 0x87 },
      })
    }
  })
})
