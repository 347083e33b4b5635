// The worker with a batching target, against a memory spool and a fake sender: leases held by waiting batches,
// outcomes applied to every job of a batch, release on stop.
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../observability/logger.js'
import { createMemorySpool } from '../spool/memory-spool.js'
import type { NewJob, OutgoingRequest, Spool } from '../spool/spool.js'
import type { BatchSettings } from './batcher.js'
import { defaultRetryPolicy } from './retry-schema.js'
import type { Sender, SendResult } from './send.js'
import { createDeliveryWorker, type DeliveryEvent, type DeliveryWorker } from './worker.js'

const newJob = (n: number): NewJob => ({
  id: `m${n}:r:0`,
  rule: 'r',
  target: '0',
  orderKey: null,
  message: { topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, receivedAt: 0 },
  request: { method: 'POST', url: 'http://hook.test/', headers: {}, body: Buffer.from(JSON.stringify({ n })) },
})

describe('worker with a batching target', () => {
  let spool: Spool
  let worker: DeliveryWorker | undefined
  let sent: OutgoingRequest[]
  let events: DeliveryEvent[]
  afterEach(async () => {
    await worker?.stop(100)
    worker = undefined
  })

  function startWorker(batch: BatchSettings, maxInFlight: number, answer: (i: number) => SendResult) {
    spool = createMemorySpool()
    sent = []
    events = []
    const sender: Sender = {
      async send(request) {
        sent.push(request)
        return answer(sent.length - 1)
      },
      async close() {},
    }
    worker = createDeliveryWorker({
      spool,
      sender,
      logger: silentLogger(),
      targetOf: () => ({ retry: { ...defaultRetryPolicy, jitter: 0 }, timeoutMs: 1000, batch }),
      defaultTimeoutMs: 1000,
      maxInFlight,
      concurrencyPerOrigin: 4,
      onAttempt: (event) => events.push(event),
    })
    worker.start()
  }

  const waitUntil = async (check: () => boolean) => {
    const deadline = Date.now() + 5000
    while (!check()) {
      if (Date.now() > deadline) throw new Error('timed out')
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  it('flushes batches when they hold every lease it may take (maxInFlight < maxMessages)', async () => {
    // The last job waits its maxWaitMs: nothing else can join it, but the worker could still lease more.
    startWorker({ maxMessages: 100, maxBytes: 1 << 20, maxWaitMs: 200 }, 3, () => ({ status: 200, durationMs: 1 }))
    await spool.enqueue([1, 2, 3, 4, 5, 6, 7].map(newJob))
    worker!.notify()
    await waitUntil(() => spool.stats(Date.now()).depth === 0)
    expect(sent.map((r) => JSON.parse(r.body.toString()).length)).toEqual([3, 3, 1])
    expect(events.filter((e) => e.action === 'done')).toHaveLength(7)
  })

  it('dead-letters every job of a failed batch together, with the same attempt record', async () => {
    startWorker({ maxMessages: 2, maxBytes: 1 << 20, maxWaitMs: 60_000 }, 10, () => ({ status: 400, durationMs: 1 }))
    await spool.enqueue([newJob(1), newJob(2)])
    worker!.notify()
    await waitUntil(() => spool.listDeadLetters().length === 2)
    expect(sent).toHaveLength(1)
    const [a, b] = spool.listDeadLetters()
    expect(a!.history).toEqual(b!.history)
    expect(events.map((e) => [e.job.id, e.action])).toEqual([
      ['m1:r:0', 'dead'],
      ['m2:r:0', 'dead'],
    ])
  })

  it('releases the jobs of unsent batches on stop', async () => {
    startWorker({ maxMessages: 100, maxBytes: 1 << 20, maxWaitMs: 60_000 }, 10, () => ({ status: 200, durationMs: 1 }))
    await spool.enqueue([newJob(1), newJob(2)])
    worker!.notify()
    await waitUntil(() => spool.stats(Date.now()).leased === 2)
    await worker!.stop(100)
    worker = undefined
    expect(sent).toEqual([])
    expect(spool.stats(Date.now())).toMatchObject({ depth: 2, leased: 0 })
    expect(spool.lease(10, Date.now())).toHaveLength(2)
  })
})
