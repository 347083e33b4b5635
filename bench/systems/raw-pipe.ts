// The raw pipe: the least a program can do to bridge MQTT to HTTP. An MQTT.js subscriber that applies the JSONata
// transform (compiled once) or nothing (the ceiling), and POSTs each result with undici (keep-alive pool) from an
// O(1) queue. No persistence, no retries, no metrics: a failed POST is a lost message (counted).
// Transforms run one after another in slices that yield to the event loop: MQTT.js delivers every packet of the
// socket's buffered data (nextTick by nextTick) before any promise continues, so starting an (async) JSONata
// evaluation per message from the 'message' event piles up thousands of them under a burst, freezing the
// process for seconds while they all complete at once.
import type { Socket } from 'node:net'
import jsonata from 'jsonata'
import mqtt from 'mqtt'
import { Pool } from 'undici'
import { serve } from '../lib/ipc.js'
import { EXPRESSION, SUBSCRIPTION } from '../lib/workload.js'

const brokerUrl = process.env.BENCH_BROKER_URL
const targetUrl = process.env.BENCH_TARGET_URL
if (!brokerUrl || !targetUrl) throw new Error('BENCH_BROKER_URL and BENCH_TARGET_URL must be set')
const transform = process.env.RAW_TRANSFORM !== 'none'
const connections = Number(process.env.RAW_CONNECTIONS ?? 16)
const pipelining = Number(process.env.RAW_PIPELINING ?? 1)

/** Ring buffer: O(1) push and shift. */
class Ring<T> {
  private items: Array<T | undefined> = new Array(1024)
  private head = 0
  size = 0
  push(item: T): void {
    if (this.size === this.items.length) {
      const next = new Array<T | undefined>(this.items.length * 2)
      for (let i = 0; i < this.size; i++) next[i] = this.items[(this.head + i) & (this.items.length - 1)]
      this.items = next
      this.head = 0
    }
    this.items[(this.head + this.size++) & (this.items.length - 1)] = item
  }
  shift(): T | undefined {
    if (this.size === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & (this.items.length - 1)
    this.size--
    return item
  }
}

const target = new URL(targetUrl)
const pool = new Pool(target.origin, { connections, pipelining, keepAliveTimeout: 60_000 })
const path = target.pathname
const headers = { 'content-type': 'application/json' }
const expression = jsonata(EXPRESSION)
const queue = new Ring<Buffer | string>()
const inbox = new Ring<{ topic: string; payload: Buffer }>()
let transforming = false
const maxInFlight = connections * pipelining
let inFlight = 0
let received = 0
let posted = 0
let failed = 0

function pump(): void {
  while (inFlight < maxInFlight && queue.size > 0) {
    const body = queue.shift()!
    inFlight++
    pool.request({ path, method: 'POST', headers, body }).then(
      (response) => {
        response.body.dump().catch(() => {})
        if (response.statusCode < 300) posted++
        else failed++
        inFlight--
        pump()
      },
      () => {
        failed++
        inFlight--
        pump()
      },
    )
  }
}

const client = mqtt.connect(brokerUrl, { clean: true, clientId: `raw-pipe-${process.pid}` })
client.on('connect', () => (client.stream as unknown as Socket).setNoDelay?.(true))
/** Transforms what is in the inbox for up to ~5 ms, then yields to I/O (setImmediate) if more is waiting. */
async function transformSlice(): Promise<void> {
  const until = performance.now() + 5
  while (inbox.size > 0 && performance.now() < until) {
    const { topic, payload } = inbox.shift()!
    try {
      const result = await expression.evaluate({ topic, payload: JSON.parse(payload.toString()) })
      queue.push(JSON.stringify(result))
    } catch {
      failed++
    }
    pump()
  }
  if (inbox.size > 0) setImmediate(transformSlice)
  else transforming = false
}

client.on('message', (topic, payload) => {
  received++
  if (!transform) {
    queue.push(payload)
    pump()
    return
  }
  inbox.push({ topic, payload })
  if (!transforming) {
    transforming = true
    setImmediate(transformSlice)
  }
})

client.once('connect', () => {
  client.subscribe(SUBSCRIPTION, { qos: 1 }, (err) => {
    if (err) throw err
    serve({ stats: () => ({ received, posted, failed, queued: queue.size, inFlight, pool: pool.stats }) })
  })
})
