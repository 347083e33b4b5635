// Inbound hooks through a running hookbridge: a signed HTTP request in, a message on a real MQTT subscriber out,
// answered only once the broker has it. Standard Webhooks senders sign with the official `standardwebhooks`
// package; GitHub's signature is made as its documentation says.
import { createHmac, randomUUID } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { startAedes, type TestBroker } from '../helpers/aedes.js'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js'
import { waitFor } from '../helpers/wait.js'
import { type Subscriber, startSubscriber } from '../http/harness.js'

const WHSEC = `whsec_${Buffer.from('standard webhooks test key').toString('base64')}`
const GITHUB_SECRET = 'github secret'
const HOOK_TOKEN = 'hook-token-0123456789'
const env = { WHSEC, GITHUB_SECRET, HOOK_TOKEN }

const rules = {
  orders: {
    from: { hook: { verify: { standardWebhooks: { secrets: ['${env:WHSEC}'] } } } },
    transform: '{ "order": body.id, "total": body.total, "via": headers."webhook-id" }',
    publish: { topic: 'shop/{body.customer}/orders', qos: 1 },
  },
  github: {
    from: { hook: { name: 'gh', verify: { githubHmac: { secret: '${env:GITHUB_SECRET}' } } } },
    publish: { topic: 'github/{headers."x-github-event"}', qos: 2 },
  },
  device: {
    from: { hook: { verify: { bearer: { token: '${env:HOOK_TOKEN}' } } } },
    publish: { topic: 'devices/{query.id}/events', qos: 1 },
  },
}

/** The headers a Standard Webhooks sender sends, signed by the reference library. */
function standardWebhooksHeaders(body: string, secret = WHSEC): Record<string, string> {
  const id = `msg_${randomUUID()}`
  const now = new Date()
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, now, body),
  }
}

describe('inbound hooks on mosquitto', () => {
  let broker: TestMosquitto | undefined
  let hb: TestBridge | undefined
  let subscriber: Subscriber | undefined

  afterEach(async () => {
    await subscriber?.close()
    await hb?.close()
    await broker?.close()
    subscriber = hb = broker = undefined
  })

  async function start(): Promise<string> {
    broker = await startMosquitto()
    hb = await startTestBridge({ mqttUrl: broker.url, rules, env })
    await waitFor(() => hb!.bridge.readiness().ready, { what: 'ready' })
    subscriber = await startSubscriber(broker.url, '#', 5)
    return `http://127.0.0.1:${hb.bridge.httpPort}/v1/hooks`
  }

  it('verifies a Standard Webhooks signature, transforms, and publishes to the computed topic', async () => {
    const base = await start()
    const body = JSON.stringify({ id: 'o-17', customer: 'acme', total: 42.5 })
    const signature = standardWebhooksHeaders(body)
    const headers = { 'content-type': 'application/json', ...signature }
    const res = await fetch(`${base}/orders`, { method: 'POST', headers, body })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ topic: 'shop/acme/orders', qos: 1, retain: false, reasonCode: 0 })
    await subscriber!.until('shop/acme/orders')
    const message = subscriber!.messages.find((m) => m.topic === 'shop/acme/orders')!
    expect(JSON.parse(message.payload.toString())).toEqual({ order: 'o-17', total: 42.5, via: signature['webhook-id'] })
    expect(message.packet.properties?.contentType).toBe('application/json')
  })

  it('refuses a tampered body with 401 and publishes nothing', async () => {
    const base = await start()
    const body = JSON.stringify({ id: 'o-1', customer: 'acme', total: 1 })
    const tampered = body.replace('"total":1', '"total":1000')
    const refused = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: standardWebhooksHeaders(body),
      body: tampered,
    })
    expect(refused.status).toBe(401)
    expect((await refused.json()).error.code).toBe('HOOKBRIDGE_HOOK_SIGNATURE_INVALID')
    const wrongKey = `whsec_${Buffer.from('another key').toString('base64')}`
    const forged = await fetch(`${base}/orders`, {
      method: 'POST',
      headers: standardWebhooksHeaders(body, wrongKey),
      body,
    })
    expect(forged.status).toBe(401)
    // A good request afterwards is the first message the subscriber sees.
    const good = JSON.stringify({ id: 'o-2', customer: 'acme', total: 2 })
    expect(
      (await fetch(`${base}/orders`, { method: 'POST', headers: standardWebhooksHeaders(good), body: good })).status,
    ).toBe(200)
    expect(await subscriber!.until('shop/acme/orders')).toEqual([])
    expect(subscriber!.messages.map((m) => JSON.parse(m.payload.toString()).order)).toEqual(['o-2'])
  })

  it('verifies GitHub X-Hub-Signature-256 and bearer tokens, publishing only what passes', async () => {
    const base = await start()
    const body = '{"zen":"Design for failure."}'
    const sign = (secret: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
    const post = (path: string, headers: Record<string, string>, payload = body) =>
      fetch(`${base}/${path}`, { method: 'POST', headers, body: payload })
    expect((await post('gh', { 'x-github-event': 'ping', 'x-hub-signature-256': sign('wrong') })).status).toBe(401)
    expect((await post('gh', { 'x-github-event': 'ping' })).status).toBe(401)
    expect((await post('device?id=d1', { authorization: 'Bearer not-the-token-at-all' })).status).toBe(401)
    expect((await post('device?id=d1', {})).status).toBe(401)
    const gh = await post('gh', { 'x-github-event': 'ping', 'x-hub-signature-256': sign(GITHUB_SECRET) })
    expect(gh.status).toBe(200)
    expect(await gh.json()).toMatchObject({ topic: 'github/ping', qos: 2 })
    const device = await post('device?id=d1', { authorization: `Bearer ${HOOK_TOKEN}` }, 'raw bytes')
    expect(device.status).toBe(200)
    await waitFor(() => subscriber!.messages.length === 2, { what: 'two messages' })
    // Two QoS levels are two flows: no order between them.
    expect(subscriber!.messages.map((m) => [m.topic, m.payload.toString()]).sort()).toEqual([
      ['devices/d1/events', 'raw bytes'],
      ['github/ping', body],
    ])
  })

  it('answers 503 and publishes nothing while the broker is away', async () => {
    const base = await start()
    await subscriber!.close()
    subscriber = undefined
    await broker!.stop()
    await waitFor(() => !hb!.bridge.mqtt.client.connected, { what: 'bridge disconnected' })
    const res = await fetch(`${base}/device?id=d2`, {
      method: 'POST',
      headers: { authorization: `Bearer ${HOOK_TOKEN}` },
      body: 'x',
    })
    expect(res.status).toBe(503)
    expect((await res.json()).error.code).toBe('HOOKBRIDGE_BROKER_UNAVAILABLE')
    expect(res.headers.get('retry-after')).not.toBeNull()
  })
})

describe('inbound hooks on aedes (MQTT 3.1.1)', () => {
  let broker: TestBroker | undefined
  let hb: TestBridge | undefined

  afterEach(async () => {
    await hb?.close()
    await broker?.close()
    hb = broker = undefined
  })

  it("answers only after the broker's PUBACK", async () => {
    broker = await startAedes()
    const held: Array<() => void> = []
    broker.aedes.authorizePublish = (_client, packet, callback) => {
      if (packet.topic.startsWith('devices/')) held.push(() => callback(null))
      else callback(null)
    }
    hb = await startTestBridge({ mqttUrl: broker.url, protocolVersion: 4, rules: { device: rules.device }, env })
    await waitFor(() => hb!.bridge.readiness().ready, { what: 'ready' })
    let answered = false
    const res = fetch(`http://127.0.0.1:${hb.bridge.httpPort}/v1/hooks/device?id=d3`, {
      method: 'POST',
      headers: { authorization: `Bearer ${HOOK_TOKEN}` },
      body: 'held',
    }).then((r) => {
      answered = true
      return r
    })
    // The broker has the PUBLISH but has not acknowledged it: no answer yet.
    await waitFor(() => held.length === 1, { what: 'the PUBLISH at the broker' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(answered).toBe(false)
    held[0]!()
    const response = await res
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ topic: 'devices/d3/events', qos: 1 })
  })
})
