// Write coalescing on a real broker (aedes over TCP): packets written in separate ticks of one event-loop turn
// leave in one system call, a lone packet still leaves in its turn, and the broker gets every packet in order.
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { startAedes, type TestBroker } from '../../test/helpers/aedes.js'
import { waitFor } from '../../test/helpers/wait.js'
import { coalesceWrites } from './write-coalescing.js'

interface CountedSocket {
  _write: (...args: unknown[]) => void
  _writev: (...args: unknown[]) => void
}

/** Counts the socket's writes to the kernel: one `_write` or `_writev` call is one system call. */
function countWrites(client: MqttClient): { readonly calls: number } {
  const socket = client.stream as unknown as CountedSocket
  const counter = { calls: 0 }
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name].bind(socket)
    socket[name] = (...args) => {
      counter.calls++
      original(...args)
    }
  }
  return counter
}

const nextTick = () => new Promise<void>((resolve) => process.nextTick(resolve))

describe('write coalescing', () => {
  let broker: TestBroker | undefined
  const clients: MqttClient[] = []
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true)
    await broker?.close()
    broker = undefined
  })

  async function connect(coalesce: boolean): Promise<MqttClient> {
    const client = mqtt.connect(broker!.url, { protocolVersion: 4, clean: true })
    clients.push(client)
    if (coalesce) coalesceWrites(client)
    await new Promise((resolve) => client.once('connect', resolve))
    return client
  }

  /** Subscribes a second client to c/#: what it receives, in arrival order. */
  async function subscribe(): Promise<string[]> {
    const subscriber = await connect(false)
    const payloads: string[] = []
    subscriber.on('message', (_topic, payload) => payloads.push(payload.toString()))
    await subscriber.subscribeAsync('c/#', { qos: 1 })
    return payloads
  }

  // Each publish waits two ticks, as a request handler's publish does after reading its body: mqtt-packet's own
  // cork (undone on the next tick) no longer covers the previous packet.
  async function publishApartInOneTurn(client: MqttClient, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      client.publish(`c/${i}`, `m${i}`, { qos: 1 })
      await nextTick()
      await nextTick()
    }
  }

  it('sends the packets of one event-loop turn in one write, in order', async () => {
    broker = await startAedes()
    const publisher = await connect(true)
    const arrived = await subscribe()
    const writes = countWrites(publisher)
    await publishApartInOneTurn(publisher, 5)
    expect(writes.calls).toBe(0)
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes.calls).toBe(1)
    await waitFor(() => arrived.length === 5, { what: 'all five messages at the subscriber' })
    expect(arrived).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
  })

  it('without it, the same packets take a write each (what the test above would see if coalescing broke)', async () => {
    broker = await startAedes()
    const publisher = await connect(false)
    const writes = countWrites(publisher)
    await publishApartInOneTurn(publisher, 5)
    expect(writes.calls).toBe(5)
  })

  it('sends a lone packet in its own turn, with no other traffic to push it out', async () => {
    broker = await startAedes()
    const publisher = await connect(true)
    const arrived = await subscribe()
    // The PUBACK can only come back if the PUBLISH left.
    await publisher.publishAsync('c/lone', 'alone', { qos: 1 })
    await waitFor(() => arrived.length === 1, { what: 'the message at the subscriber' })
    expect(arrived).toEqual(['alone'])
  })
})
