// Both paths through one running hookbridge on mosquitto (MQTT 5): HTTP publish -> MQTT -> rule -> webhook,
// and the SSE stream fed by the bridge's own MQTT connection.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'
import { sseReader } from '../http/harness.js'

describe('HTTP and MQTT through one bridge', () => {
  let broker: TestMosquitto
  let receiver: TestReceiver
  let hb: TestBridge | undefined

  beforeEach(async () => {
    broker = await startMosquitto()
    receiver = await startReceiver()
  })
  afterEach(async () => {
    await hb?.close()
    hb = undefined
    await receiver.close()
    await broker.close()
  })

  it('publishes over HTTP into a topic that a rule delivers to a webhook', async () => {
    hb = await startTestBridge({
      mqttUrl: broker.url,
      rules: {
        echo: {
          from: { topic: 'orders/+id' },
          transform: '{ "id": params.id, "order": payload }',
          to: { url: `${receiver.url}/orders` },
        },
      },
    })
    await waitFor(() => hb!.bridge.readiness().ready, { what: 'ready' })
    const res = await fetch(`http://127.0.0.1:${hb.bridge.httpPort}/v1/publish/orders/42?qos=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'A-1', n: 2 }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ topic: 'orders/42', qos: 1 })
    await waitFor(() => receiver.requests.length === 1, { what: 'webhook' })
    expect(JSON.parse(receiver.requests[0]!.body.toString())).toEqual({ id: '42', order: { sku: 'A-1', n: 2 } })
  })

  it('streams messages over SSE from the bridge connection, alongside rule subscriptions on the same topics', async () => {
    hb = await startTestBridge({
      mqttUrl: broker.url,
      rules: { all: { from: { topic: 'live/#' }, to: { url: `${receiver.url}/all` } } },
    })
    await waitFor(() => hb!.bridge.readiness().ready, { what: 'ready' })
    const base = `http://127.0.0.1:${hb.bridge.httpPort}`
    const controller = new AbortController()
    const res = await fetch(`${base}/v1/subscribe?topic=${encodeURIComponent('live/+/temp')}`, {
      signal: controller.signal,
    })
    const events = sseReader(res.body!)
    expect((await events.next())?.event).toBe('subscribed')
    for (const [topic, body] of [
      ['live/kitchen/temp', '21.5'],
      ['live/kitchen/humidity', '40'],
      ['live/hall/temp', '19'],
    ]) {
      expect((await fetch(`${base}/v1/publish/${topic}`, { method: 'POST', body })).status).toBe(200)
    }
    const first = JSON.parse((await events.next())!.data)
    const second = JSON.parse((await events.next())!.data)
    expect([first.topic, second.topic]).toEqual(['live/kitchen/temp', 'live/hall/temp'])
    expect(first.payload).toBe('21.5')
    // The rule on the overlapping filter still delivers each message exactly once.
    await waitFor(() => receiver.requests.length === 3, { what: 'three webhooks' })
    controller.abort()
    await waitFor(() => receiver.requests.length === 3 && hb!.bridge.subscriptions.wanted().size === 1, {
      what: 'SSE unsubscribed',
    })
    expect(receiver.requests.map((r) => r.headers['x-hookbridge-topic']).sort()).toEqual([
      'live/hall/temp',
      'live/kitchen/humidity',
      'live/kitchen/temp',
    ])
  })
})
