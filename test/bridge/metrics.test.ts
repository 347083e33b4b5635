// /metrics on a running bridge: per-rule counters that add up, spool gauges, HTTP API requests by route.
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { startAedes, type TestBroker } from '../helpers/aedes.js'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  let sum = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    if (wanted.every((w) => line.includes(w))) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

describe('metrics', () => {
  let broker: TestBroker
  let receiver: TestReceiver
  let hb: TestBridge
  afterEach(async () => {
    await hb?.close()
    await receiver?.close()
    await broker?.close()
  })

  it('counts per rule so that received = filtered + delivered + dead-lettered + pending', async () => {
    broker = await startAedes()
    // Odd readings are refused with 400 (dead-lettered at once); the rest are accepted.
    receiver = await startReceiver((req) => ({ status: JSON.parse(req.body.toString()).n % 2 === 1 ? 400 : 200 }))
    hb = await startTestBridge({
      mqttUrl: broker.url,
      protocolVersion: 4,
      rules: { readings: { from: { topic: 'r/+' }, when: 'payload.n < 8', to: { url: `${receiver.url}/r` } } },
    })
    const device = await mqtt.connectAsync(broker.url, { protocolVersion: 4 })
    for (let n = 0; n < 10; n++) await device.publishAsync(`r/${n}`, JSON.stringify({ n }), { qos: 1 })
    await device.endAsync()
    const base = `http://127.0.0.1:${hb.bridge.httpPort}`
    await waitFor(() => receiver.requests.length === 8, { what: '8 webhooks' })
    await fetch(`${base}/v1/publish/x%2Fy`, { method: 'POST', body: 'z' })
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`${base}/metrics`)).text()
        return (
          sample(body, 'hookbridge_delivered_total') === 4 &&
          sample(body, 'hookbridge_dead_lettered_total') === 4 &&
          body
        )
      },
      { what: 'final counts' },
    )
    const rule = { rule: 'readings' }
    const received = sample(text, 'hookbridge_rule_received_total', rule)
    const filtered = sample(text, 'hookbridge_rule_filtered_total', rule)
    const delivered = sample(text, 'hookbridge_delivered_total', rule)
    const dead = sample(text, 'hookbridge_dead_lettered_total', rule)
    const pending = sample(text, 'hookbridge_pending', rule)
    expect({ received, filtered, delivered, dead, pending }).toEqual({
      received: 10,
      filtered: 2,
      delivered: 4,
      dead: 4,
      pending: 0,
    })
    expect(received).toBe(filtered + delivered + dead + pending)
    expect(sample(text, 'hookbridge_delivery_attempts_total', { class: '4xx' })).toBe(4)
    expect(sample(text, 'hookbridge_dead_letters')).toBe(4)
    expect(sample(text, 'hookbridge_spool_depth')).toBe(0)
    expect(sample(text, 'hookbridge_mqtt_connected')).toBe(1)
    expect(sample(text, 'hookbridge_delivery_latency_seconds_count', rule)).toBe(4)
    expect(sample(text, 'hookbridge_transform_seconds_count', rule)).toBe(10)
    // By route pattern, never by raw path (topics in paths would make the label set unbounded).
    expect(text).toContain(
      'hookbridge_http_requests_total{route="/v1/publish/:topic{.+}",method="POST",status="200"} 1',
    )
  })
})
