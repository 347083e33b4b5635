// The MQTT -> HTTP path end to end, run against each broker (aedes in-process, mosquitto as a process):
// a real MQTT client publishes, hookbridge routes, a real HTTP receiver records what arrives.
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

export interface BrokerUnderTest {
  url: string
  close(): Promise<void>
}

export interface SuiteOptions {
  /** The broker speaks MQTT 5 (aedes does not). */
  mqtt5: boolean
}

export function runBridgeSuite(
  name: string,
  startBroker: () => Promise<BrokerUnderTest>,
  { mqtt5 }: SuiteOptions,
): void {
  const version = mqtt5 ? 5 : 4
  describe(`MQTT -> HTTP through ${name}`, () => {
    let broker: BrokerUnderTest
    let receiver: TestReceiver
    let hb: TestBridge | undefined
    let device: MqttClient | undefined

    beforeEach(async () => {
      broker = await startBroker()
      receiver = await startReceiver()
    })
    afterEach(async () => {
      await device?.endAsync()
      device = undefined
      await hb?.close()
      hb = undefined
      await receiver.close()
      await broker.close()
    })

    async function start(rules: Record<string, unknown>, protocolVersion: 4 | 5 = version) {
      hb = await startTestBridge({ mqttUrl: broker.url, rules, protocolVersion })
      await waitFor(() => hb!.bridge.readiness().ready, { what: 'bridge ready' }).catch((err) => {
        throw new Error(`${err.message}: ${JSON.stringify(hb!.bridge.readiness())}`)
      })
      device = await mqtt.connectAsync(broker.url, {
        protocolVersion: version,
        clientId: `device-${Date.now()}-${Math.random()}`,
      })
    }

    it('delivers one message, transformed, with the expected body and headers', async () => {
      await start({
        'hot-readings': {
          from: { topic: 'sensors/+device/temperature', qos: 1 },
          when: 'payload.celsius > 30',
          transform: '{ "device": params.device, "celsius": payload.celsius, "topic": topic }',
          to: { url: `${receiver.url}/alerts/{params.device}`, headers: { 'x-team': 'ops' } },
        },
      })
      await device!.publishAsync('sensors/kitchen/temperature', JSON.stringify({ celsius: 31.5 }), { qos: 1 })
      const [request] = await waitFor(() => receiver.requests.length === 1 && receiver.requests, { what: 'webhook' })
      expect(request!.method).toBe('POST')
      expect(request!.path).toBe('/alerts/kitchen')
      expect(JSON.parse(request!.body.toString())).toEqual({
        device: 'kitchen',
        celsius: 31.5,
        topic: 'sensors/kitchen/temperature',
      })
      expect(request!.headers['content-type']).toBe('application/json')
      expect(request!.headers['x-team']).toBe('ops')
      expect(request!.headers['x-hookbridge-topic']).toBe('sensors/kitchen/temperature')
      expect(request!.headers['x-hookbridge-rule']).toBe('hot-readings')
      expect(request!.headers['x-hookbridge-delivery-id']).toMatch(/:hot-readings:0$/)
    })

    it('filters with `when`: only matching messages arrive, in order', async () => {
      await start({
        hot: {
          from: { topic: 'sensors/+device/temperature' },
          when: 'payload.celsius > 30',
          to: { url: `${receiver.url}/hot` },
        },
      })
      for (const celsius of [20, 35, 10, 40]) {
        await device!.publishAsync('sensors/a/temperature', JSON.stringify({ celsius }), { qos: 1 })
      }
      await device!.publishAsync('sensors/a/temperature', JSON.stringify({ celsius: 99, last: true }), { qos: 1 })
      await waitFor(() => receiver.requests.length === 3, { what: '3 webhooks' })
      const received = receiver.requests.map((r) => JSON.parse(r.body.toString()).celsius).sort()
      expect(received).toEqual([35, 40, 99])
      expect(hb!.bridge.ingest.counters.skipped).toBe(2)
    })

    it('delivers a message that matches several rules once to each, even with overlapping filters', async () => {
      await start({
        all: { from: { topic: 'home/#' }, to: { url: `${receiver.url}/all` } },
        kitchen: { from: { topic: 'home/kitchen/+' }, to: { url: `${receiver.url}/kitchen` } },
        both: { from: { topic: ['home/+/light', 'home/kitchen/#'] }, to: { url: `${receiver.url}/both` } },
      })
      await device!.publishAsync('home/kitchen/light', 'on', { qos: 1 })
      await waitFor(() => receiver.requests.length >= 3, { what: '3 webhooks' })
      // Any duplicate would arrive right behind the first copies; publish a marker and wait for it to be sure.
      await device!.publishAsync('home/marker', 'end', { qos: 1 })
      await waitFor(() => receiver.requests.some((r) => r.body.toString() === 'end'), { what: 'marker' })
      const paths = receiver.requests
        .filter((r) => r.body.toString() === 'on')
        .map((r) => r.path)
        .sort()
      expect(paths).toEqual(['/all', '/both', '/kitchen'])
    })

    for (const qos of [0, 1, 2] as const) {
      it(`delivers QoS ${qos} messages with their bytes unchanged when there is no transform`, async () => {
        await start({ raw: { from: { topic: 'raw/#', qos }, to: { url: `${receiver.url}/raw` } } })
        const bytes = Buffer.from([0, 1, 2, 250, 251, 255])
        await device!.publishAsync('raw/bin', bytes, { qos })
        await waitFor(() => receiver.requests.length === 1, { what: 'webhook' })
        expect(receiver.requests[0]!.body.equals(bytes)).toBe(true)
        expect(receiver.requests[0]!.headers['content-type']).toBe('application/octet-stream')
      })
    }

    it.runIf(mqtt5)('gives MQTT 5 properties to the envelope and the content type to the webhook', async () => {
      await start({
        props: {
          from: { topic: 'props/+' },
          transform: '{ "properties": properties, "qos": qos, "retain": retain }',
          to: { url: `${receiver.url}/props` },
        },
        raw: { from: { topic: 'props/+' }, to: { url: `${receiver.url}/raw` } },
      })
      await device!.publishAsync('props/x', 'hello', {
        qos: 1,
        properties: {
          contentType: 'text/plain; charset=utf-8',
          responseTopic: 'reply/here',
          correlationData: Buffer.from('corr-1'),
          userProperties: { trace: 'abc' },
          messageExpiryInterval: 600,
        },
      })
      await waitFor(() => receiver.requests.length === 2, { what: 'two webhooks' })
      const props = receiver.requests.find((r) => r.path === '/props')!
      const body = JSON.parse(props.body.toString())
      expect(body.qos).toBe(1)
      expect(body.properties).toMatchObject({
        contentType: 'text/plain; charset=utf-8',
        responseTopic: 'reply/here',
        correlationData: Buffer.from('corr-1').toString('base64'),
        userProperties: { trace: 'abc' },
      })
      expect(body.properties.messageExpiryInterval).toBeGreaterThan(0)
      const raw = receiver.requests.find((r) => r.path === '/raw')!
      expect(raw.headers['content-type']).toBe('text/plain; charset=utf-8')
      expect(raw.body.toString()).toBe('hello')
    })

    it('retries a webhook that answers 500, then delivers', async () => {
      receiver.respond((_req, index) => (index < 2 ? { status: 500 } : { status: 200 }))
      await start({
        flaky: {
          from: { topic: 'flaky' },
          to: { url: `${receiver.url}/flaky` },
          retry: { initialDelayMs: 20, maxDelayMs: 50 },
        },
      })
      await device!.publishAsync('flaky', '{"n":1}', { qos: 1 })
      await waitFor(() => receiver.requests.length === 3, { what: 'three attempts' })
      const ids = new Set(receiver.requests.map((r) => r.headers['x-hookbridge-delivery-id']))
      expect(ids.size).toBe(1)
      await waitFor(() => hb!.bridge.spool.stats(Date.now()).depth === 0, { what: 'spool drained' })
    })

    it('passes a payload that is not JSON on as text and crashes nothing', async () => {
      await start({
        text: {
          from: { topic: 'text/#' },
          transform: '{ "text": payload, "isString": $type(payload) = "string" }',
          to: { url: `${receiver.url}/t` },
        },
      })
      await device!.publishAsync('text/a', '{not json', { qos: 1 })
      await device!.publishAsync('text/b', 'plain words', { qos: 1 })
      await waitFor(() => receiver.requests.length === 2, { what: 'two webhooks' })
      const bodies = receiver.requests
        .map((r) => JSON.parse(r.body.toString()))
        .sort((a, b) => a.text.localeCompare(b.text))
      expect(bodies).toEqual([
        { text: '{not json', isString: true },
        { text: 'plain words', isString: true },
      ])
    })

    it.runIf(mqtt5)('works with the bridge on MQTT 3.1.1 too', async () => {
      await start(
        { v4: { from: { topic: 'v4/+id' }, transform: '{ "id": params.id }', to: { url: `${receiver.url}/v4` } } },
        4,
      )
      await device!.publishAsync('v4/abc', '{}', { qos: 1 })
      await waitFor(() => receiver.requests.length === 1, { what: 'webhook' })
      expect(JSON.parse(receiver.requests[0]!.body.toString())).toEqual({ id: 'abc' })
    })
  })
}
