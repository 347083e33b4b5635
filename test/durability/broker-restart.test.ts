// mosquitto restarts under a running hookbridge process: with persistence the session survives (and with it the
// messages queued for hookbridge while it was away); without, hookbridge subscribes again on its own.
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
import { connectPublisher, createSequenceTally, publishSequence, waitForAll } from '../helpers/sequence.js'

const TOPIC = 'e2e/restart/seq'

for (const protocolVersion of [5, 4] as const) {
  const label = protocolVersion === 5 ? 'MQTT 5' : 'MQTT 3.1.1'
  describe(`hookbridge process on ${label}, broker restarts`, () => {
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

    async function setUp(persistence: boolean): Promise<void> {
      broker = await startMosquittoAsCurrentUser({ persistence })
      receiver = await startReceiver()
      hb = await createHookbridgeProcess({
        mqttUrl: broker.url,
        protocolVersion,
        rules: { seq: { from: { topic: TOPIC, qos: 1 }, to: { url: `${receiver.url}/seq` } } },
      })
      await hb.start()
    }

    /** Stops mosquitto, sees hookbridge notice (GET /readyz no longer 200), starts it again on the same port. */
    async function restartBroker(): Promise<void> {
      await publisher?.endAsync(true)
      publisher = undefined
      await broker!.stop()
      await hb!.waitNotReady()
      await broker!.start()
    }

    /** Publishes `from..from+count-1` (QoS 1) from a fresh publisher; resolves once the broker has them all. */
    async function publish(from: number, count: number): Promise<void> {
      publisher ??= await connectPublisher(broker!.url, `publisher-${hb!.clientId}`, protocolVersion)
      await publishSequence(publisher, count, { topicOf: () => TOPIC, payloadOf: (seq) => String(from + seq) })
    }

    it(`broker restarted with persistence on: reconnects by itself and loses nothing queued (${label})`, {
      timeout: 300_000,
    }, async () => {
      await setUp(true)
      const tally = createSequenceTally(receiver!)
      await publish(0, 1)
      await waitForAll(tally, 1, { timeoutMs: 60_000, what: '#0 before the restart' })

      // Nothing published while the broker is down: hookbridge reconnects by itself, to the session it had.
      await restartBroker()
      await hb!.waitReady(120_000)
      await publish(1, 1)
      await waitForAll(tally, 2, { timeoutMs: 60_000, what: '#1 after the restart' })

      // hookbridge stopped cleanly; 100 messages queued for its session; the broker restarted meanwhile (so they
      // must come from its persistence file); hookbridge started again: all 100 arrive.
      hb!.kill('SIGTERM')
      expect(await hb!.waitExit(), hb!.output).toEqual({ code: 0, signal: null })
      await publish(2, 100)
      await publisher!.endAsync()
      publisher = undefined
      await broker!.stop()
      await broker!.start()
      await hb!.start({ readyTimeoutMs: 120_000 })
      await waitForAll(tally, 102, { timeoutMs: 120_000, what: 'the 100 messages queued while hookbridge was stopped' })
      tally.update()
      console.log(`broker restarted with persistence on (${label}): 102 messages, ${tally.duplicates} duplicates`)
    })

    it(`broker restarted without persistence: subscribes again by itself (${label})`, {
      timeout: 300_000,
    }, async () => {
      await setUp(false)
      const tally = createSequenceTally(receiver!)
      await publish(0, 1)
      await waitForAll(tally, 1, { timeoutMs: 60_000, what: '#0 before the restart' })

      // The broker forgets the session: only a new SUBSCRIBE from hookbridge makes the next message reach it.
      // (GET /readyz answers 200 only once the broker confirmed every subscription again.)
      await restartBroker()
      await hb!.waitReady(120_000)
      await publish(1, 1)
      await waitForAll(tally, 2, { timeoutMs: 60_000, what: '#1 after the restart' })
    })
  })
}
