// Past spool.maxJobs, hookbridge holds back its acknowledgements so that the broker keeps the messages: the spool
// stays near its limit while the receiver is down, and everything arrives once it is up. In-process (the child
// process exposes no spool depth), against a real mosquitto and a real receiver.
import type { MqttClient } from 'mqtt'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import type { TestMosquitto } from '../helpers/mosquitto.js'
import { startMosquittoAsCurrentUser } from '../helpers/mosquitto-user.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { connectPublisher, createSequenceTally, publishSequence, waitForAll } from '../helpers/sequence.js'
import { waitFor } from '../helpers/wait.js'

const N = 300
const MAX_JOBS = 50
/** "Never much more than the limit": ingest checks for room before each message it stores. */
const DEPTH_SLACK = 5
const TOPIC = 'e2e/backpressure/seq'

describe('in-process bridge with a small spool', () => {
  let broker: TestMosquitto | undefined
  let receiver: TestReceiver | undefined
  let publisher: MqttClient | undefined
  let hb: TestBridge | undefined
  let sampler: NodeJS.Timeout | undefined

  afterEach(async () => {
    clearInterval(sampler)
    await publisher?.endAsync(true)
    await hb?.close()
    await receiver?.close()
    await broker?.close()
    publisher = receiver = broker = hb = sampler = undefined
  })

  it('backpressure: the spool stays at its limit while the receiver is down, then all arrive', {
    timeout: 300_000,
  }, async () => {
    broker = await startMosquittoAsCurrentUser()
    receiver = await startReceiver(() => ({ status: 503 }))
    let down = true
    let maxDepth = 0
    let failedWhileFull = 0
    const sample = () => {
      const depth = hb?.bridge.spool.stats(Date.now()).depth ?? 0
      if (down) maxDepth = Math.max(maxDepth, depth)
      return depth
    }
    hb = await startTestBridge({
      mqttUrl: broker.url,
      rules: {
        seq: {
          from: { topic: TOPIC, qos: 1 },
          retry: { initialDelayMs: 50, maxDelayMs: 500 },
          to: { url: `${receiver.url}/seq` },
        },
      },
      config: { spool: { maxJobs: MAX_JOBS } },
      onAttempt: (event) => {
        if (sample() >= MAX_JOBS && event.action === 'retry') failedWhileFull++
      },
    })
    await waitFor(() => hb!.bridge.readiness().ready, { what: 'bridge ready' })
    sampler = setInterval(sample, 5)

    publisher = await connectPublisher(broker.url, `publisher-${hb.bridge.config.mqtt.clientId}`, 5)
    await publishSequence(publisher, N, { topicOf: () => TOPIC })
    // Full, and staying full while delivery keeps failing: 100 failed attempts on a full spool.
    await waitFor(() => sample() >= MAX_JOBS && failedWhileFull >= 100, {
      timeoutMs: 120_000,
      what: `${MAX_JOBS} jobs in the spool and 100 failed attempts while full`,
    })
    clearInterval(sampler)
    const depthWhileDown = sample()
    const jobsWhileDown = hb.bridge.ingest.counters.jobs
    expect(jobsWhileDown).toBeLessThan(N)

    // Up: from here on (same tick, so no request falls in between) every request is answered 200.
    const failedRequests = receiver.requests.length
    receiver.respond(undefined)
    down = false
    const tally = createSequenceTally(receiver, { accept: (_request, index) => index >= failedRequests })
    await waitForAll(tally, N, { timeoutMs: 180_000, what: `all ${N} messages once the receiver is up` })
    await waitFor(() => hb!.bridge.spool.stats(Date.now()).depth === 0, { what: 'the spool to drain' })
    tally.update()
    console.log(
      `backpressure: maxJobs ${MAX_JOBS}, spool depth at most ${maxDepth} while the receiver was down` +
        ` (${depthWhileDown} at the end, ${jobsWhileDown} of ${N} taken in, ${failedRequests} failed requests);` +
        ` then ${tally.unique}/${N} arrived, ${tally.duplicates} duplicates`,
    )
    expect(maxDepth).toBeLessThanOrEqual(MAX_JOBS + DEPTH_SLACK)
  })
})
