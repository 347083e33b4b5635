// The worker against an origin that refuses connections (a loopback port nothing listens on), with the real
// sender and a memory spool: one probe per interval instead of one attempt per due job, the refusal recorded on
// every waiting job, retry policies still deciding, and everything sent once the origin answers.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort } from '../../test/helpers/ports.js'
import { waitFor } from '../../test/helpers/wait.js'
import { silentLogger } from '../observability/logger.js'
import { createMemorySpool } from '../spool/memory-spool.js'
import type { NewJob, Spool } from '../spool/spool.js'
import { defaultRetryPolicy, type RetryPolicy } from './retry-schema.js'
import { createSender, type Sender } from './send.js'
import { createDeliveryWorker, type DeliveryEvent, type DeliveryWorker } from './worker.js'

const PROBE_INTERVAL_MS = 150

describe('worker circuit per origin', () => {
  let worker: DeliveryWorker | undefined
  let sender: Sender | undefined
  let server: Server | undefined
  afterEach(async () => {
    await worker?.stop(1000)
    await sender?.close()
    if (server) await new Promise((resolve) => server!.close(resolve))
    worker = undefined
    sender = undefined
    server = undefined
  })

  async function setUp(retry: Partial<RetryPolicy>, jobs: number) {
    const port = await freePort()
    const spool: Spool = createMemorySpool()
    const real = createSender()
    sender = real
    const sent: number[] = []
    const events: DeliveryEvent[] = []
    worker = createDeliveryWorker({
      spool,
      sender: {
        send(request, timeoutMs) {
          sent.push(Date.now())
          return real.send(request, timeoutMs)
        },
        close: () => real.close(),
      },
      logger: silentLogger(),
      targetOf: () => ({ retry: { ...defaultRetryPolicy, jitter: 0, ...retry }, timeoutMs: 2000 }),
      defaultTimeoutMs: 2000,
      maxInFlight: 256,
      concurrencyPerOrigin: 4,
      probeIntervalMs: PROBE_INTERVAL_MS,
      onAttempt: (event) => events.push(event),
    })
    const newJob = (n: number): NewJob => ({
      id: `m${n}:r:0`,
      rule: 'r',
      target: '0',
      orderKey: null,
      message: { topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, receivedAt: Date.now() },
      request: { method: 'POST', url: `http://127.0.0.1:${port}/hook`, headers: {}, body: Buffer.from(`{"n":${n}}`) },
    })
    await spool.enqueue(Array.from({ length: jobs }, (_, n) => newJob(n)))
    worker.start()
    return { port, spool, sent, events }
  }

  it('probes a refusing origin once per interval and records the refusal on every job that waited', async () => {
    const { sent, events } = await setUp({ initialDelayMs: 20, multiplier: 1, maxDelayMs: 20 }, 40)
    await waitFor(() => events.length >= 280, { what: '280 attempts' })
    // Each job was due every 20 ms: without the circuit that would have been 40 requests every 20 ms.
    expect(sent.length).toBeLessThan(60)
    const shared = events.filter((e) => e.record.error?.includes('not sent: the probe of this origin was refused'))
    expect(shared.length).toBeGreaterThan(200)
    for (const event of events) {
      expect(event.action).toBe('retry')
      expect(event.record.code).toBe('HOOKBRIDGE_DELIVERY_CONNECTION')
    }
    // Once the circuit is open, requests go out at most once per interval (a little slack for timers).
    const probes = sent.slice(-4)
    for (let i = 1; i < probes.length; i++)
      expect(probes[i]! - probes[i - 1]!).toBeGreaterThanOrEqual(PROBE_INTERVAL_MS - 5)
  })

  it('sends every waiting job once the origin answers', async () => {
    const { port, spool, sent, events } = await setUp({ initialDelayMs: 20, multiplier: 1, maxDelayMs: 20 }, 40)
    await waitFor(() => events.length >= 80, { what: 'refused attempts' })
    const received: string[] = []
    server = createServer((req, res) => {
      received.push(String(req.headers['content-length']))
      req.resume()
      req.on('end', () => res.end())
    })
    server.listen(port, '127.0.0.1')
    await once(server, 'listening')
    await waitFor(
      () => spool.stats(Date.now()).depth === 0 && events.filter((e) => e.action === 'done').length === 40,
      {
        what: 'all 40 delivered',
      },
    )
    expect(received.length).toBeGreaterThanOrEqual(40)
    expect(sent.length).toBeLessThan(events.length)
  })

  it('still dead-letters by maxAttempts while the jobs wait for probes', async () => {
    const { spool, events } = await setUp({ initialDelayMs: 20, multiplier: 1, maxDelayMs: 20, maxAttempts: 3 }, 30)
    await waitFor(() => spool.stats(Date.now()).deadLetters === 30, { what: '30 dead letters' })
    const dead = events.filter((e) => e.action === 'dead')
    expect(dead).toHaveLength(30)
    for (const event of dead) expect(event.reason).toMatch(/^gave up after 3 attempts/)
    expect(events).toHaveLength(90)
  })
})
