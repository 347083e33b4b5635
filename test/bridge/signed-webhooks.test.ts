// Signed webhooks (Standard Webhooks) and CloudEvents output, end to end through a mosquitto of the suite's own,
// checked with the official packages a receiver would use: `standardwebhooks` and the `cloudevents` SDK.
import { HTTP } from 'cloudevents'
import mqtt, { type MqttClient } from 'mqtt'
import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js'
import { type ReceivedRequest, startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

const oldSecret = `whsec_${Buffer.from('the secret being rotated out....').toString('base64')}`
const newSecret = `whsec_${Buffer.from('the secret being rotated in.....').toString('base64')}`

function headersOf(request: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]))
}

describe('signed webhooks and CloudEvents through mosquitto', () => {
  let broker: TestMosquitto
  let receiver: TestReceiver
  let hb: TestBridge | undefined
  let device: MqttClient

  beforeEach(async () => {
    broker = await startMosquitto()
    receiver = await startReceiver()
    device = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clientId: `device-${Date.now()}` })
  })
  afterEach(async () => {
    await device.endAsync()
    await hb?.close()
    hb = undefined
    await receiver.close()
    await broker.close()
  })

  async function start(rules: Record<string, unknown>) {
    hb = await startTestBridge({
      mqttUrl: broker.url,
      rules,
      env: { WEBHOOK_SECRET_OLD: oldSecret, WEBHOOK_SECRET_NEW: newSecret },
    })
    await waitFor(() => hb!.bridge.readiness().ready, { what: 'bridge ready' })
  }

  it('signs every attempt with each secret of a rotation; the retry keeps the id and verifies too', async () => {
    receiver.respond((_req, index) => ({ status: index === 0 ? 500 : 204 }))
    await start({
      signed: {
        from: { topic: 'orders/+id' },
        transform: '{ "order": params.id, "total": payload.total }',
        to: {
          url: `${receiver.url}/orders`,
          sign: { secrets: ['${env:WEBHOOK_SECRET_OLD}', '${env:WEBHOOK_SECRET_NEW}'] },
        },
        retry: { initialDelayMs: 20, maxDelayMs: 50 },
      },
    })
    await device.publishAsync('orders/o-17', JSON.stringify({ total: 99.5 }), { qos: 1 })
    await waitFor(() => receiver.requests.length === 2, { what: 'two attempts' })
    for (const request of receiver.requests) {
      const headers = headersOf(request)
      expect(headers['webhook-signature']!.split(' ')).toHaveLength(2)
      expect(new Webhook(oldSecret).verify(request.body, headers)).toEqual({ order: 'o-17', total: 99.5 })
      expect(new Webhook(newSecret).verify(request.body, headers)).toEqual({ order: 'o-17', total: 99.5 })
      expect(headers['webhook-id']).toBe(headers['x-hookbridge-delivery-id'])
    }
    const [first, second] = receiver.requests.map(headersOf)
    expect(second!['webhook-id']).toBe(first!['webhook-id'])
    expect(Number(second!['webhook-timestamp'])).toBeGreaterThanOrEqual(Number(first!['webhook-timestamp']))
    // A key that is neither does not verify.
    expect(() =>
      new Webhook(`whsec_${Buffer.from('some other key').toString('base64')}`).verify(
        receiver.requests[0]!.body,
        first!,
      ),
    ).toThrow()
  })

  it('delivers CloudEvents in binary and structured mode, signed, readable by the cloudevents SDK', async () => {
    await start({
      events: {
        from: { topic: 'sensors/+device/temperature' },
        to: [
          { url: `${receiver.url}/binary`, cloudEvents: { mode: 'binary', type: 'com.example.reading' } },
          {
            url: `${receiver.url}/structured`,
            cloudEvents: { mode: 'structured', source: '/devices/{params.device}' },
            sign: { secrets: ['${env:WEBHOOK_SECRET_NEW}'] },
          },
        ],
      },
    })
    await device.publishAsync('sensors/kitchen/temperature', JSON.stringify({ celsius: 31.5 }), { qos: 1 })
    await waitFor(() => receiver.requests.length === 2, { what: 'two webhooks' })
    const byPath = (path: string) => receiver.requests.find((r) => r.path === path)!

    const binary = HTTP.toEvent({ headers: headersOf(byPath('/binary')), body: byPath('/binary').body.toString() })
    if (Array.isArray(binary)) throw new Error('one event expected')
    expect(binary).toMatchObject({
      specversion: '1.0',
      type: 'com.example.reading',
      source: '/hookbridge/events',
      subject: 'sensors/kitchen/temperature',
      datacontenttype: 'application/json',
      data: { celsius: 31.5 },
    })
    expect(binary.id).toMatch(/:events:0$/)
    expect(Number.isNaN(Date.parse(binary.time!))).toBe(false)

    const request = byPath('/structured')
    expect(new Webhook(newSecret).verify(request.body, headersOf(request))).toMatchObject({ specversion: '1.0' })
    const structured = HTTP.toEvent({ headers: headersOf(request), body: request.body.toString() })
    if (Array.isArray(structured)) throw new Error('one event expected')
    expect(structured).toMatchObject({
      type: 'hookbridge.message',
      source: '/devices/kitchen',
      subject: 'sensors/kitchen/temperature',
      data: { celsius: 31.5 },
      time: binary.time,
    })
    expect(structured.id).toMatch(/:events:1$/)
  })
})
