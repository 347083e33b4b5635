// SIGTERM while deliveries are pending and in flight to a slow receiver: hookbridge stops taking messages, lets
// the requests in flight finish, exits 0 within its shutdown grace, and the next run delivers the rest.
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import {
  closeAllHookbridgeProcesses,
  createHookbridgeProcess,
  type HookbridgeProcess,
} from '../helpers/hookbridge-process.js'
import type { TestMosquitto } from '../helpers/mosquitto.js'
import { startMosquittoAsCurrentUser } from '../helpers/mosquitto-user.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import {
  connectPublisher,
  createSequenceTally,
  DELIVERY_ID_HEADER,
  publishSequence,
  waitForAll,
} from '../helpers/sequence.js'
import { waitFor } from '../helpers/wait.js'

const N = 200
const TOPIC = 'e2e/shutdown/seq'
/** delivery.shutdownGraceMs, left at its default. */
const SHUTDOWN_GRACE_MS = 10_000
/** On top of the grace: closing the MQTT client, the HTTP server and the spool, on a loaded machine. */
const EXIT_SLACK_MS = 20_000

describe('hookbridge process, SIGTERM', () => {
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

  it('graceful shutdown: exits 0 within the grace, then the next run delivers the rest', {
    timeout: 300_000,
  }, async () => {
    broker = await startMosquittoAsCurrentUser()
    receiver = await startReceiver(() => ({ delayMs: 300 }))
    hb = await createHookbridgeProcess({
      mqttUrl: broker.url,
      rules: { seq: { from: { topic: TOPIC, qos: 1 }, to: { url: `${receiver.url}/seq` } } },
      // 2 at a time, 300 ms each: delivering all 200 takes 30 s or more, so most are still pending at the SIGTERM.
      env: { HOOKBRIDGE_CONCURRENCY_PER_ORIGIN: '2' },
    })
    await hb.start()
    publisher = await connectPublisher(broker.url, `publisher-${hb.clientId}`, 5)
    await publishSequence(publisher, N, { topicOf: () => TOPIC })

    // Every message taken in (in the spool, or already at the receiver) and requests in flight.
    const arrivedIds = () => new Set(receiver!.requests.map((r) => String(r.headers[DELIVERY_ID_HEADER])))
    await waitFor(
      () => {
        const ids = arrivedIds()
        for (const job of hb!.spooledJobs()) ids.add(job.id)
        return ids.size >= N && receiver!.requests.length >= 2
      },
      { timeoutMs: 120_000, what: `all ${N} messages taken in and requests in flight` },
    )

    const signalledAt = Date.now()
    hb.kill('SIGTERM')
    const exit = await hb.waitExit(SHUTDOWN_GRACE_MS + EXIT_SLACK_MS)
    const exitMs = Date.now() - signalledAt
    expect(exit, hb.output).toEqual({ code: 0, signal: null })

    // Messages were pending, and none of them is one that was in flight: those finished within the grace and
    // their completion was stored, so the next run does not send them again.
    // Answered after the signal (300 ms each): in flight when it came. Printed, not asserted: a stalled machine
    // may have had none in flight at that moment.
    const inFlightAtSignal = receiver.requests.filter((r) => r.at > signalledAt - 300).length
    const left = hb.spooledJobs().map((job) => job.id)
    expect(left.length).toBeGreaterThan(0)
    const arrivedBeforeExit = arrivedIds()
    expect(left.filter((id) => arrivedBeforeExit.has(id))).toEqual([])
    const delivered = arrivedBeforeExit.size

    receiver.respond(undefined)
    await hb.start()
    const tally = createSequenceTally(receiver)
    await waitForAll(tally, N, { timeoutMs: 120_000, what: `all ${N} messages after the restart` })
    tally.update()
    console.log(
      `graceful shutdown: exited 0 ${exitMs} ms after SIGTERM with ${delivered} delivered (${inFlightAtSignal} of` +
        ` them in flight at the signal) and ${left.length} pending; after the restart ${tally.unique}/${N} arrived, ${tally.duplicates} duplicates`,
    )
    expect(tally.duplicates).toBe(0)
  })
})
