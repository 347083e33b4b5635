// The load generator, in a process of its own: publishes the workload at QoS 1 to the bench broker, either as a
// burst (as fast as the broker acknowledges, at most `window` unacknowledged: burst-writer.ts) or at a fixed rate
// (MQTT.js, each message stamped as it is sent). Every loop is bounded by a message count and by a deadline.
import type { Socket } from 'node:net'
import mqtt from 'mqtt'
import { serve } from '../lib/ipc.js'
import type { PublishReport } from '../lib/publisher-types.js'
import { monotonicUs, payloadOf, topicOf } from '../lib/workload.js'
import { type BurstWriter, openBurstWriter } from './burst-writer.js'

const url = process.env.BENCH_BROKER_URL
if (!url) throw new Error('BENCH_BROKER_URL is not set')

const client = mqtt.connect(url, {
  protocolVersion: 4,
  clean: true,
  clientId: `bench-publisher-${process.pid}`,
  reconnectPeriod: 1000,
})
client.on('connect', () => (client.stream as unknown as Socket).setNoDelay?.(true))
client.on('error', (err) => process.stderr.write(`publisher: ${err.message}\n`))

// How many messages the broker holds (queued or in flight to subscribers), published by mosquitto every
// sys_interval: the backlog phase watches it fall to zero once the bridge has taken (stored) everything. The
// store counts retained messages too, and mosquitto retains each $SYS topic it starts publishing (new ones appear
// as load changes), so those are taken off: otherwise the count never falls to its start value.
const STORE_COUNT = '$SYS/broker/store/messages/count'
const RETAINED_COUNT = '$SYS/broker/retained messages/count'
const latest = new Map<string, { value: number; at: number }>()
let subscribedToStore = false
client.on('message', (topic, payload) => {
  if (topic === STORE_COUNT || topic === RETAINED_COUNT) latest.set(topic, { value: Number(payload), at: Date.now() })
})

function heldNotRetained(): { value: number; at: number } | null {
  const store = latest.get(STORE_COUNT)
  const retained = latest.get(RETAINED_COUNT)
  if (!store || !retained) return null
  // mosquitto publishes a $SYS value when it changes: `at` is when the store count last changed.
  return { value: Math.max(0, store.value - retained.value), at: store.at }
}

function publishRun(
  run: number,
  count: number,
  options: { perSecond?: number; window: number; deadlineMs: number },
): Promise<PublishReport> {
  return new Promise((resolve) => {
    const started = performance.now()
    let sent = 0
    let acked = 0
    let failed = 0
    let maxLagMs = 0
    let waitingForAcks = false
    let finished = false
    let timer: NodeJS.Timeout | undefined
    const finish = () => {
      if (finished) return
      finished = true
      clearTimeout(deadline)
      clearInterval(timer)
      resolve({ sent, acked, failed, ms: performance.now() - started, maxLagMs })
    }
    const deadline = setTimeout(finish, options.deadlineMs)
    const onAck = (err?: Error) => {
      if (err) failed++
      else acked++
      if (acked + failed === count) finish()
      else if (waitingForAcks && sent - acked - failed <= options.window / 2) {
        waitingForAcks = false
        setImmediate(pump)
      }
    }
    const publish = () => {
      const seq = sent++
      client.publish(topicOf(seq), payloadOf(run, seq, monotonicUs()), { qos: 1 }, onAck)
    }
    // Burst: as fast as the window allows, yielding every 1,000 messages so acknowledgements are read.
    function pump(): void {
      if (finished) return
      const stopAt = Math.min(count, sent + 1000)
      while (sent < stopAt && sent - acked - failed < options.window) publish()
      if (sent >= count) return
      if (sent - acked - failed >= options.window) waitingForAcks = true
      else setImmediate(pump)
    }
    if (options.perSecond === undefined) {
      pump()
      return
    }
    const perMs = options.perSecond / 1000
    timer = setInterval(() => {
      const elapsed = performance.now() - started
      const due = Math.min(count, Math.floor(elapsed * perMs) + 1)
      if (due - sent > 1) maxLagMs = Math.max(maxLagMs, (due - sent) / perMs)
      while (sent < due) publish()
      if (sent >= count) clearInterval(timer)
    }, 1)
  })
}

let writer: BurstWriter | undefined

client.once('connect', () => {
  serve({
    async burst(args: { run: number; count: number; window?: number; deadlineMs: number }) {
      writer ??= await openBurstWriter(url)
      return writer.burst(args.run, args.count, { window: args.window ?? 20_000, deadlineMs: args.deadlineMs })
    },
    rate(args: { run: number; perSecond: number; durationMs: number; deadlineMs: number }) {
      const count = Math.round((args.perSecond * args.durationMs) / 1000)
      return publishRun(args.run, count, {
        perSecond: args.perSecond,
        window: Number.POSITIVE_INFINITY,
        deadlineMs: args.deadlineMs,
      })
    },
    async brokerStore() {
      if (!subscribedToStore) {
        await client.subscribeAsync([STORE_COUNT, RETAINED_COUNT], { qos: 0 })
        subscribedToStore = true
      }
      return heldNotRetained()
    },
    one(args: { run: number; seq: number }) {
      return client
        .publishAsync(topicOf(args.seq), payloadOf(args.run, args.seq, monotonicUs()), { qos: 1 })
        .then(() => true)
    },
  })
})
