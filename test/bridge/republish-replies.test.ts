// MQTT -> MQTT (republish, fan-out) and webhook replies into MQTT, through a mosquitto of the suite's own (MQTT 5).
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DeliveryEvent } from '../../src/delivery/worker.js'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

interface Received {
  topic: string
  payload: string
  packet: IPublishPacket
}

const fastRetry = { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 }

describe('republish and replies through mosquitto (MQTT 5)', () => {
  let broker: TestMosquitto
  let receiver: TestReceiver
  let hb: TestBridge | undefined
  let device: MqttClient
  let received: Received[]
  let attempts: DeliveryEvent[]

  beforeEach(async () => {
    broker = await startMosquitto()
    receiver = await startReceiver()
    received = []
    attempts = []
    device = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `device-${Date.now()}` })
    device.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), packet }))
  })
  afterEach(async () => {
    await device.endAsync()
    await hb?.close()
    hb = undefined
    await receiver.close()
    await broker.close()
  })

  async function start(rules: Record<string, unknown>, listen: string[]) {
    if (listen.length > 0) await device.subscribeAsync(listen, { qos: 1 })
    hb = await startTestBridge({ mqttUrl: broker.url, rules, onAttempt: (event) => attempts.push(event) })
    await waitFor(() => hb!.bridge.readiness().ready, { what: 'bridge ready' })
  }

  const on = (topic: string) => received.filter((m) => m.topic === topic)

  it('publishes the webhook response to the device topic (devices/{params.device}/ack)', async () => {
    receiver.respond((req) => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ accepted: JSON.parse(req.body.toString()).op }),
    }))
    await start(
      {
        commands: {
          from: { topic: 'devices/+device/cmd' },
          to: {
            url: `${receiver.url}/commands`,
            reply: {
              topic: 'devices/{params.device}/ack',
              transform: '{ "device": request.params.device, "status": status, "accepted": body.accepted }',
            },
          },
        },
      },
      ['devices/+/ack'],
    )
    await device.publishAsync('devices/d7/cmd', JSON.stringify({ op: 'reboot' }), {
      qos: 1,
      properties: { userProperties: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
    })
    const [ack] = await waitFor(() => on('devices/d7/ack').length === 1 && on('devices/d7/ack'), { what: 'the ack' })
    expect(JSON.parse(ack!.payload)).toEqual({ device: 'd7', status: 200, accepted: 'reboot' })
    expect(ack!.packet.properties?.contentType).toBe('application/json')
    expect(ack!.packet.properties?.userProperties).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    })
  })

  it('replies on the MQTT 5 response topic with the correlation data of the request', async () => {
    receiver.respond(() => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'pong' }))
    await start({ ping: { from: { topic: 'rpc/ping' }, to: { url: `${receiver.url}/ping`, reply: {} } } }, [
      'clients/me/responses',
    ])
    await device.publishAsync('rpc/ping', 'ping', {
      qos: 1,
      properties: { responseTopic: 'clients/me/responses', correlationData: Buffer.from('request-1') },
    })
    const [reply] = await waitFor(() => on('clients/me/responses').length === 1 && on('clients/me/responses'), {
      what: 'the reply',
    })
    expect(reply!.payload).toBe('pong')
    expect(Buffer.from(reply!.packet.properties!.correlationData!).toString()).toBe('request-1')
    expect(reply!.packet.properties?.contentType).toBe('text/plain')
  })

  it('sends no reply for a non-2xx response: the delivery is retried, and the 2xx that follows is replied once', async () => {
    receiver.respond((_req, index) => (index === 0 ? { status: 503, body: 'busy' } : { status: 200, body: '{"n":1}' }))
    await start(
      {
        acked: {
          from: { topic: 'devices/+device/cmd' },
          to: { url: `${receiver.url}/c`, reply: { topic: 'devices/{params.device}/ack', transform: '{"s": status}' } },
          retry: fastRetry,
        },
      },
      ['devices/+/ack'],
    )
    await device.publishAsync('devices/d1/cmd', '{}', { qos: 1 })
    await waitFor(() => on('devices/d1/ack').length === 1, { what: 'the reply to the retry' })
    expect(receiver.requests).toHaveLength(2)
    await waitFor(() => hb!.bridge.spool.stats(Date.now()).depth === 0, { what: 'spool drained' })
    // A reply to the 503 would have been published before the one to the 200.
    expect(on('devices/d1/ack').map((m) => JSON.parse(m.payload))).toEqual([{ s: 200 }])
  })

  it('replies to every response under onStatus: any, and still retries the non-2xx ones', async () => {
    receiver.respond((_req, index) => ({ status: index === 0 ? 500 : 200 }))
    await start(
      {
        all: {
          from: { topic: 'devices/+device/cmd' },
          to: {
            url: `${receiver.url}/c`,
            reply: { topic: 'acks/{params.device}', onStatus: 'any', transform: 'status' },
          },
          retry: fastRetry,
        },
      },
      ['acks/+'],
    )
    await device.publishAsync('devices/d2/cmd', '{}', { qos: 1 })
    await waitFor(() => on('acks/d2').length === 2, { what: 'two replies' })
    expect(on('acks/d2').map((m) => m.payload)).toEqual(['500', '200'])
  })

  it('fans out to an HTTP and an MQTT target, each retried on its own: the republish arrives once', async () => {
    receiver.respond((_req, index) => ({ status: index === 0 ? 500 : 200 }))
    await start(
      {
        fan: {
          from: { topic: 'sensors/+device/raw' },
          transform: '{ "device": params.device, "celsius": payload.c }',
          to: [
            { url: `${receiver.url}/ingest` },
            {
              mqtt: {
                topic: 'processed/{params.device}',
                qos: 1,
                properties: { contentType: 'application/json', userProperties: { via: 'hookbridge' } },
              },
            },
          ],
          retry: fastRetry,
        },
      },
      ['processed/#'],
    )
    await device.publishAsync('sensors/s1/raw', JSON.stringify({ c: 21.5 }), { qos: 1 })
    await waitFor(() => receiver.requests.length === 2, { what: 'webhook retried once' })
    await waitFor(() => hb!.bridge.spool.stats(Date.now()).depth === 0, { what: 'spool drained' })
    const [republished] = await waitFor(() => on('processed/s1').length >= 1 && on('processed/s1'), {
      what: 'the republish',
    })
    expect(JSON.parse(republished!.payload)).toEqual({ device: 's1', celsius: 21.5 })
    expect(republished!.packet.properties?.contentType).toBe('application/json')
    expect(republished!.packet.properties?.userProperties).toEqual({ via: 'hookbridge' })
    // A second copy would come before our own marker, published after the job was complete.
    await device.publishAsync('processed/marker', 'end', { qos: 1 })
    await waitFor(() => on('processed/marker').length === 1, { what: 'marker' })
    expect(on('processed/s1')).toHaveLength(1)
    const byTarget = (target: string) => attempts.filter((a) => a.job.target === target).map((a) => a.action)
    expect(byTarget('0')).toEqual(['retry', 'done'])
    expect(byTarget('1')).toEqual(['done'])
  })

  it('republishes with retain and QoS as the target says', async () => {
    await start(
      { keep: { from: { topic: 'in/+id' }, to: { mqtt: { topic: 'last/{params.id}', qos: 2, retain: true } } } },
      [],
    )
    await device.publishAsync('in/a', 'v1', { qos: 1 })
    await waitFor(() => attempts.some((a) => a.action === 'done'), { what: 'republished' })
    // A late subscriber gets the retained copy.
    await device.subscribeAsync('last/a', { qos: 2 })
    const [copy] = await waitFor(() => on('last/a').length === 1 && on('last/a'), { what: 'retained copy' })
    expect(copy!.payload).toBe('v1')
    expect(copy!.packet.retain).toBe(true)
    expect(copy!.packet.qos).toBe(2)
  })

  it('dead-letters a computed topic that loops back into the rule, and publishes nothing', async () => {
    await start({ echo: { from: { topic: 'loop/+name' }, to: { mqtt: { topic: 'loop/{payload.next}' } } } }, ['loop/#'])
    await device.publishAsync('loop/a', JSON.stringify({ next: 'b' }), { qos: 1 })
    const [dead] = await waitFor(
      () => hb!.bridge.spool.listDeadLetters().length === 1 && hb!.bridge.spool.listDeadLetters(),
      {
        what: 'dead letter',
      },
    )
    expect(dead!.history.at(-1)?.code).toBe('HOOKBRIDGE_REPUBLISH_LOOP')
    expect(dead!.reason).toMatch(/feed the message back into the rule/)
    expect(on('loop/b')).toEqual([])
  })
})
