// Scale-out: three hookbridge instances in one shared-subscription group on mosquitto (MQTT 5) split the
// messages; one stops gracefully in the middle of the stream and nothing is lost.
import mqtt from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

describe('scale-out with shared subscriptions', () => {
  let broker: TestMosquitto | undefined
  let receiver: TestReceiver | undefined
  const instances: TestBridge[] = []

  afterEach(async () => {
    for (const hb of instances.splice(0)) await hb.close()
    await receiver?.close()
    await broker?.close()
  })

  it('splits the load across three instances and loses nothing when one stops gracefully', async () => {
    broker = await startMosquitto()
    receiver = await startReceiver()
    const rule = {
      from: { topic: 'jobs/+id', qos: 1, shareGroup: 'workers' },
      transform: '{ "n": payload.n, "id": params.id }',
      to: { url: `${receiver.url}/jobs` },
    }
    for (let i = 0; i < 3; i++) instances.push(await startTestBridge({ mqttUrl: broker.url, rules: { jobs: rule } }))
    await waitFor(() => instances.every((hb) => hb.bridge.readiness().ready), { what: 'three instances ready' })

    const publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 })
    const total = 600
    const stopAt = 300
    for (let n = 0; n < total; n++) {
      await publisher.publishAsync(`jobs/${n}`, JSON.stringify({ n }), { qos: 1 })
      if (n === stopAt) {
        // Stop one instance gracefully while messages keep coming.
        const leaving = instances.shift()!
        await leaving.close()
      }
    }
    await publisher.endAsync()

    await waitFor(() => new Set(receiver!.requests.map((r) => JSON.parse(r.body.toString()).n)).size === total, {
      what: `all ${total} messages`,
      timeoutMs: 30_000,
    })
    // Each remaining instance took a share, and together they took less than all: the one that left had the rest.
    const received = instances.map((hb) => hb.bridge.ingest.counters.received)
    expect(received.every((n) => n > 0)).toBe(true)
    expect(received.reduce((a, b) => a + b, 0)).toBeLessThan(total)
  })
})
