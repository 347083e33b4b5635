// The receiver is down (503s and reset connections) while 500 messages for 5 devices come in; when it comes up
// every message arrives, and per device (the rule's orderBy key) in the order they were published.
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import {
  closeAllHookbridgeProcesses,
  createHookbridgeProcess,
  type HookbridgeProcess,
} from '../helpers/hookbridge-process.js'
import type { TestMosquitto } from '../helpers/mosquitto.js'
import { startMosquittoAsCurrentUser } from '../helpers/mosquitto-user.js'
import { type Reply, startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { connectPublisher, createSequenceTally, publishSequence, waitForAll } from '../helpers/sequence.js'
import { waitFor } from '../helpers/wait.js'

const N = 500
const DEVICES = 5
const deviceOf = (seq: number) => `device-${seq % DEVICES}`

describe('hookbridge process, receiver outage', () => {
  let broker: TestMosquitto | undefined
  let receiver: TestReceiver | undefined
  let publisher: MqttClient | undefined
  let hb: HookbridgeProcess | undefined

  afterEach(async () => {
    await publisher?.endAsync(true)
    await closeAllHookbridgeProcesses()
    await receiver?.close()
    await broker?.close()
    publisher = receiver = broker = hb = undefined
  })

  it('receiver down, then up: all arrive, per device in publish order', { timeout: 300_000 }, async () => {
    const startedAt = Date.now()
    broker = await startMosquittoAsCurrentUser()
    receiver = await startReceiver()
    // Down: every other request gets a 503, the others a reset connection (both are retried).
    let up = false
    const delivered = new Set<number>()
    receiver.respond((_request, index): Reply | undefined => {
      if (!up) return index % 2 === 0 ? { status: 503 } : { reset: true }
      delivered.add(index)
      return { status: 200 }
    })
    hb = await createHookbridgeProcess({
      mqttUrl: broker.url,
      rules: {
        devices: {
          from: { topic: 'e2e/outage/+device/events', qos: 1 },
          orderBy: 'params.device',
          retry: { initialDelayMs: 50, maxDelayMs: 500 },
          to: { url: `${receiver.url}/events` },
        },
      },
    })
    await hb.start()
    publisher = await connectPublisher(broker.url, `publisher-${hb.clientId}`, 5)
    await publishSequence(publisher, N, {
      topicOf: (seq) => `e2e/outage/${deviceOf(seq)}/events`,
      payloadOf: (seq) => JSON.stringify({ seq }),
    })
    const seqOf = (request: { body: Buffer }) => (JSON.parse(request.body.toString()) as { seq: number }).seq
    // All 500 taken in (none can be delivered yet) and every device's first message retried a few times.
    await waitFor(() => hb!.spooledJobs().length === N, { timeoutMs: 120_000, what: `${N} jobs in the spool` })
    await waitFor(
      () => {
        const attempts = new Map<string, number>()
        for (const request of receiver!.requests) {
          const device = deviceOf(seqOf(request))
          attempts.set(device, (attempts.get(device) ?? 0) + 1)
        }
        return attempts.size === DEVICES && [...attempts.values()].every((count) => count >= 3)
      },
      { timeoutMs: 60_000, what: 'three failed attempts per device' },
    )
    const failedAttempts = receiver.requests.length
    up = true

    const all = createSequenceTally(receiver, { seqOf })
    const ok = createSequenceTally(receiver, { seqOf, accept: (_request, index) => delivered.has(index) })
    await waitForAll(ok, N, { timeoutMs: 180_000, what: `all ${N} messages answered 200` })
    all.update()

    // Per device, the first arrival of each message (any attempt, and the first one answered 200) in publish order.
    for (const tally of [all, ok]) {
      const firsts = [...tally.bySeq.entries()].map(([seq, arrivals]) => ({ seq, index: arrivals[0]!.index }))
      firsts.sort((a, b) => a.index - b.index)
      for (let d = 0; d < DEVICES; d++) {
        const order = firsts.filter((f) => f.seq % DEVICES === d).map((f) => f.seq)
        expect(order).toHaveLength(N / DEVICES)
        expect(order).toEqual([...order].sort((a, b) => a - b))
      }
    }
    console.log(
      `receiver down, then up: ${N} messages over ${DEVICES} devices, ${failedAttempts} failed attempts while down,` +
        ` ${ok.duplicates} duplicates answered 200, ${((Date.now() - startedAt) / 1000).toFixed(1)} s`,
    )
  })
})
