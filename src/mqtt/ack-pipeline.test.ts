// The ack pipeline on a real broker (aedes over TCP): acknowledgements wait for their store, go out in arrival
// order, and count as the connection's sign of life (no keepalive ping needed while they flow).
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { startAedes, type TestBroker } from '../../test/helpers/aedes.js'
import { waitFor } from '../../test/helpers/wait.js'
import { installAckPipeline } from './ack-pipeline.js'

describe('ack pipeline', () => {
  let broker: TestBroker | undefined
  const clients: MqttClient[] = []
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.endAsync(true)
    await broker?.close()
    broker = undefined
  })

  it('sends each PUBACK once its message is stored, in arrival order, and reschedules the keepalive ping', async () => {
    broker = await startAedes()
    const stores: Array<{ messageId: number; resolve: () => void }> = []
    const subscriber = mqtt.connect(broker.url, { protocolVersion: 4, clean: true, keepalive: 60 })
    // As connection.ts does: MQTT.js itself installs the hook only for MQTT 5.
    subscriber.options.customHandleAcks = (_topic, _payload, packet, done) => {
      let resolve!: () => void
      const stored = new Promise<void>((r) => {
        resolve = r
      })
      pipeline.hold(packet.messageId!, stored)
      stores.push({ messageId: packet.messageId!, resolve })
      done(0)
    }
    clients.push(subscriber)
    const pipeline = installAckPipeline(subscriber, () => {})
    let reschedules = 0
    const reschedule = subscriber.reschedulePing.bind(subscriber)
    subscriber.reschedulePing = (force?: boolean) => {
      reschedules++
      reschedule(force)
    }
    const acks: number[] = []
    subscriber.on('packetsend', (packet) => {
      if (packet.cmd === 'puback') acks.push(packet.messageId!)
    })
    await new Promise((resolve) => subscriber.once('connect', resolve))
    await subscriber.subscribeAsync('t/#', { qos: 1 })

    const publisher = mqtt.connect(broker.url, { protocolVersion: 4 })
    clients.push(publisher)
    await new Promise((resolve) => publisher.once('connect', resolve))
    await Promise.all([publisher.publishAsync('t/1', 'a', { qos: 1 }), publisher.publishAsync('t/2', 'b', { qos: 1 })])
    await waitFor(() => stores.length === 2, { what: 'both messages handed to the store' })
    expect(pipeline.held).toBe(2)
    expect(acks).toEqual([])
    const before = reschedules

    // The second message is stored first: its PUBACK still waits for the first's.
    stores[1]!.resolve()
    await new Promise((resolve) => setImmediate(resolve))
    expect(acks).toEqual([])
    stores[0]!.resolve()
    await waitFor(() => acks.length === 2, { what: 'both PUBACKs sent' })
    expect(acks).toEqual([stores[0]!.messageId, stores[1]!.messageId])
    expect(pipeline.held).toBe(0)
    expect(reschedules).toBeGreaterThan(before)
  })
})
