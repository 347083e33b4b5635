// Batching per target, end to end: aedes in-process, hookbridge, a real HTTP receiver.
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DeliveryEvent } from '../../src/delivery/worker.js'
import { startAedes, type TestBroker } from '../helpers/aedes.js'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { type ReceivedRequest, startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

describe('batching per target', () => {
  let broker: TestBroker
  let receiver: TestReceiver
  let hb: TestBridge | undefined
  let device: MqttClient | undefined
  let events: DeliveryEvent[]

  beforeEach(async () => {
    broker = await startAedes()
    receiver = await startReceiver()
    events = []
  })
  afterEach(async () => {
    await device?.endAsync()
    device = undefined
    await hb?.close()
    hb = undefined
    await receiver.close()
    await broker.close()
  })

  async function start(rule: Record<string, unknown>) {
    hb = await startTestBridge({
      mqttUrl: broker.url,
      protocolVersion: 4,
      rules: { batched: rule },
      onAttempt: (event) => events.push(event),
    })
    await waitFor(() => hb!.bridge.readiness().ready, { what: 'bridge ready' })
    device = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: `device-${Date.now()}` })
  }

  const publishAll = (values: number[]) =>
    Promise.all(values.map((n) => device!.publishAsync('readings', JSON.stringify({ n }), { qos: 1 })))
  const bodyOf = (request: ReceivedRequest) => JSON.parse(request.body.toString()) as Array<{ n: number }>
  const byFirst = (requests: ReceivedRequest[]) => [...requests].sort((a, b) => bodyOf(a)[0]!.n - bodyOf(b)[0]!.n)
  const ten = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]

  it('delivers 10 messages as 2 requests of 5, each a JSON array of the bodies in order', async () => {
    await start({
      from: { topic: 'readings' },
      transform: '{ "n": payload.n }',
      to: { url: `${receiver.url}/bulk`, headers: { 'x-team': 'ops' }, batch: { maxMessages: 5, maxWaitMs: 5000 } },
    })
    await publishAll(ten)
    await waitFor(() => receiver.requests.length === 2, { what: 'two batches' })
    const [first, second] = byFirst(receiver.requests)
    expect(bodyOf(first!)).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })))
    expect(bodyOf(second!)).toEqual([5, 6, 7, 8, 9].map((n) => ({ n })))
    for (const request of [first!, second!]) {
      expect(request.path).toBe('/bulk')
      expect(request.headers['content-type']).toBe('application/json')
      expect(request.headers['x-team']).toBe('ops')
      expect(request.headers['x-hookbridge-batch-size']).toBe('5')
      expect(request.headers['x-hookbridge-delivery-id']).toMatch(/:batched:0\+5$/)
    }
    await waitFor(() => hb!.bridge.spool.stats(Date.now()).depth === 0, { what: 'spool drained' })
    expect(events.filter((e) => e.action === 'done')).toHaveLength(10)
  })

  it('sends what has arrived when maxWaitMs passes', async () => {
    await start({
      from: { topic: 'readings' },
      transform: '{ "n": payload.n }',
      to: { url: receiver.url, batch: { maxMessages: 10, maxWaitMs: 200 } },
    })
    await publishAll(ten)
    await waitFor(() => receiver.requests.flatMap(bodyOf).length === 10, { what: 'all ten' })
    expect(receiver.requests.length).toBeLessThanOrEqual(2)
    expect(byFirst(receiver.requests).flatMap(bodyOf)).toEqual(ten.map((n) => ({ n })))
    await publishAll([10, 11, 12])
    await waitFor(() => receiver.requests.flatMap(bodyOf).length === 13, { what: 'three more, after maxWaitMs' })
  })

  it('retries a batch that fails once, then delivers it whole', async () => {
    receiver.respond((_request, index) => (index === 0 ? { status: 500 } : { status: 200 }))
    await start({
      from: { topic: 'readings' },
      transform: '{ "n": payload.n }',
      to: { url: receiver.url, batch: { maxMessages: 5, maxWaitMs: 5000 } },
      retry: { initialDelayMs: 20, maxDelayMs: 50 },
    })
    await publishAll([0, 1, 2, 3, 4])
    await waitFor(() => receiver.requests.length === 2, { what: 'the batch and its retry' })
    await waitFor(() => hb!.bridge.spool.stats(Date.now()).depth === 0, { what: 'spool drained' })
    const [failed, delivered] = receiver.requests
    expect(bodyOf(failed!)).toEqual([0, 1, 2, 3, 4].map((n) => ({ n })))
    expect(delivered!.body.toString()).toBe(failed!.body.toString())
    expect(delivered!.headers['x-hookbridge-delivery-id']).toBe(failed!.headers['x-hookbridge-delivery-id'])
    expect(events.map((e) => e.action).sort()).toEqual([...Array(5).fill('done'), ...Array(5).fill('retry')])
    expect(hb!.bridge.spool.listDeadLetters()).toEqual([])
  })

  it('sends the aggregate over the batch', async () => {
    await start({
      from: { topic: 'readings' },
      transform: '{ "v": payload.n }',
      to: {
        url: receiver.url,
        batch: { maxMessages: 4, maxWaitMs: 5000, aggregate: '{ "count": $count($), "sum": $sum($.v) }' },
      },
    })
    await publishAll([1, 2, 3, 4])
    await waitFor(() => receiver.requests.length === 1, { what: 'one aggregate' })
    expect(JSON.parse(receiver.requests[0]!.body.toString())).toEqual({ count: 4, sum: 10 })
    expect(receiver.requests[0]!.headers['x-hookbridge-batch-size']).toBe('4')
  })

  it('sends ordered messages (orderBy) alone, in order', async () => {
    await start({
      from: { topic: 'readings' },
      transform: '{ "n": payload.n }',
      orderBy: '"one-key"',
      to: { url: receiver.url, batch: { maxMessages: 10, maxWaitMs: 5000 } },
    })
    await publishAll([0, 1, 2])
    await waitFor(() => receiver.requests.length === 3, { what: 'three single requests' })
    expect(receiver.requests.map((r) => JSON.parse(r.body.toString()))).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }])
    expect(receiver.requests[0]!.headers['x-hookbridge-batch-size']).toBeUndefined()
  })
})
