// A rule that goes wrong on a message never takes the process down: the message becomes a dead letter with
// a code and its original bytes, and the next message is handled as usual.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { startAedes, type TestBroker } from '../helpers/aedes.js'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

describe('JSONata safety and payload limits', () => {
  let broker: TestBroker
  let receiver: TestReceiver
  let hb: TestBridge
  let device: MqttClient

  beforeEach(async () => {
    broker = await startAedes()
    receiver = await startReceiver()
    hb = await startTestBridge({
      mqttUrl: broker.url,
      protocolVersion: 4,
      config: { limits: { maxPayloadBytes: 1024, expressionTimeoutMs: 200 } },
      rules: {
        recursion: {
          from: { topic: 'recursion' },
          transform: '($f := function($x){ $f($x) + 1 }; $f(1))',
          to: { url: `${receiver.url}/never` },
        },
        range: { from: { topic: 'range' }, transform: '$count([1..5000000])', to: { url: `${receiver.url}/never` } },
        loop: {
          from: { topic: 'loop' },
          when: '($f := function($x){ $x > 0 ? $f($x + 1) : 0 }; $f(1))',
          to: { url: `${receiver.url}/never` },
        },
        ok: { from: { topic: 'ok' }, transform: '{ "ok": payload }', to: { url: `${receiver.url}/ok` } },
        raw: { from: { topic: 'big' }, to: { url: `${receiver.url}/never` } },
      },
    })
    device = await mqtt.connectAsync(broker.url, { protocolVersion: 4 })
  })
  afterEach(async () => {
    await device.endAsync()
    await hb.close()
    await receiver.close()
    await broker.close()
  })

  const deadLetter = (rule: string) =>
    waitFor(() => hb.bridge.spool.listDeadLetters({ rule })[0], { what: `dead letter of ${rule}` })

  it('stops runaway recursion, endless loops and huge ranges, dead-letters the message, and carries on', async () => {
    for (const topic of ['recursion', 'range', 'loop']) await device.publishAsync(topic, '{"n":1}', { qos: 1 })
    await device.publishAsync('ok', '"fine"', { qos: 1 })
    for (const rule of ['recursion', 'range', 'loop']) {
      const dead = await deadLetter(rule)
      expect(dead.history[0]!.code).toBe('HOOKBRIDGE_TRANSFORM_FAILED')
      expect(dead.message.payload.toString()).toBe('{"n":1}')
      expect(dead.reason).toMatch(new RegExp(`Rule ${rule}: (transform|when) failed: `))
    }
    await waitFor(() => receiver.requests.length === 1, { what: 'the good message' })
    expect(JSON.parse(receiver.requests[0]!.body.toString())).toEqual({ ok: 'fine' })
    expect(receiver.requests.every((r) => r.path !== '/never')).toBe(true)
  })

  it('does not parse a payload over limits.maxPayloadBytes: it is dead-lettered with its bytes', async () => {
    const big = Buffer.alloc(4096, 'x')
    await device.publishAsync('big', big, { qos: 1 })
    const dead = await deadLetter('raw')
    expect(dead.history[0]!.code).toBe('HOOKBRIDGE_PAYLOAD_TOO_LARGE')
    expect(dead.message.payload.equals(big)).toBe(true)
  })
})

describe('dead letters published to MQTT', () => {
  it('publishes each dead letter of a rule with deadLetter.topic, holding the original payload', async () => {
    const broker = await startAedes()
    const receiver = await startReceiver(() => ({ status: 400 }))
    const hb = await startTestBridge({
      mqttUrl: broker.url,
      protocolVersion: 4,
      rules: {
        orders: {
          from: { topic: 'orders/+id' },
          to: { url: `${receiver.url}/orders` },
          deadLetter: { topic: 'dlq/{rule}/{topic}', qos: 1 },
        },
      },
    })
    const watcher = await mqtt.connectAsync(broker.url, { protocolVersion: 4 })
    const seen: Array<{ topic: string; body: Record<string, unknown> }> = []
    watcher.on('message', (topic, payload) => seen.push({ topic, body: JSON.parse(payload.toString()) }))
    await watcher.subscribeAsync('dlq/#', { qos: 1 })
    const device = await mqtt.connectAsync(broker.url, { protocolVersion: 4 })
    try {
      await device.publishAsync('orders/7', '{"sku":"A"}', { qos: 1 })
      const [notice] = await waitFor(() => seen.length === 1 && seen, { what: 'the dead letter on MQTT' })
      expect(notice!.topic).toBe('dlq/orders/orders/7')
      expect(notice!.body).toMatchObject({ rule: 'orders', topic: 'orders/7', reason: 'HTTP 400 is not retried' })
      expect(Buffer.from(String(notice!.body.payloadBase64), 'base64').toString()).toBe('{"sku":"A"}')
      expect((notice!.body.attempts as Array<{ status: number }>)[0]!.status).toBe(400)
    } finally {
      await device.endAsync()
      await watcher.endAsync()
      await hb.close()
      await receiver.close()
      await broker.close()
    }
  })
})

describe('replaying a message that failed at intake', () => {
  it('computes the request again with the rule as fixed, keeping the delivery id', async () => {
    const broker = await startAedes()
    const receiver = await startReceiver()
    const rule = (transform: string) => ({
      from: { topic: 'calc/+id' },
      transform,
      to: { url: `${receiver.url}/calc/{params.id}` },
    })
    const hb = await startTestBridge({
      mqttUrl: broker.url,
      protocolVersion: 4,
      rules: { calc: rule('payload.ok ? { "v": payload.v } : $error("not ok")') },
    })
    const device = await mqtt.connectAsync(broker.url, { protocolVersion: 4 })
    try {
      await device.publishAsync('calc/42', '{"ok":false,"v":7}', { qos: 1 })
      const dead = await waitFor(() => hb.bridge.spool.listDeadLetters({ rule: 'calc' })[0], { what: 'dead letter' })
      expect(dead.history[0]!.code).toBe('HOOKBRIDGE_TRANSFORM_FAILED')
      expect(receiver.requests).toHaveLength(0)

      writeFileSync(join(hb.rulesDir, 'calc.yaml'), stringify(rule('{ "v": payload.v }')))
      expect((await hb.bridge.reloader.reload('test')).ok).toBe(true)
      expect(hb.bridge.spool.replayDeadLetters([dead.id])).toBe(1)
      hb.bridge.worker.notify()
      await waitFor(() => receiver.requests.length === 1, { what: 'the replayed delivery' })
      const request = receiver.requests[0]!
      expect(request.path).toBe('/calc/42')
      expect(JSON.parse(request.body.toString())).toEqual({ v: 7 })
      expect(request.headers['x-hookbridge-delivery-id']).toBe(dead.id)
      await waitFor(() => hb.bridge.spool.stats(Date.now()).depth === 0, { what: 'spool empty' })
      expect(hb.bridge.spool.listDeadLetters({ rule: 'calc' })).toHaveLength(0)
    } finally {
      await device.endAsync()
      await hb.close()
      await receiver.close()
      await broker.close()
    }
  })
})
