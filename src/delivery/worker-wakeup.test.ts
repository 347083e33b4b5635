// The worker's wake-up: jobs enqueued are leased in the same turn of the event loop as the notify, not one turn
// later (a turn may hold many I/O callbacks on a busy process: every one of them would delay the delivery).
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../observability/logger.js'
import { createMemorySpool } from '../spool/memory-spool.js'
import type { NewJob, Spool } from '../spool/spool.js'
import { defaultRetryPolicy } from './retry-schema.js'
import type { Sender, SendResult } from './send.js'
import { createDeliveryWorker, type DeliveryWorker } from './worker.js'

const newJob = (n: number): NewJob => ({
  id: `m${n}:r:0`,
  rule: 'r',
  target: '0',
  orderKey: null,
  message: { topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, receivedAt: 0 },
  request: { method: 'POST', url: 'http://hook.test/', headers: {}, body: Buffer.from('{}') },
})

describe('worker wake-up', () => {
  let worker: DeliveryWorker | undefined
  const answers: Array<(result: SendResult) => void> = []
  afterEach(async () => {
    for (const answer of answers.splice(0)) answer({ status: 200, durationMs: 0 })
    await worker?.stop(1000)
    worker = undefined
  })

  it('leases a new job in the turn it is notified, before timers and I/O', async () => {
    const memory = createMemorySpool()
    let leases = 0
    const spool: Spool = {
      ...memory,
      lease(limit, now) {
        leases++
        return memory.lease(limit, now)
      },
    }
    const sender: Sender = {
      send: () => new Promise<SendResult>((resolve) => answers.push(resolve)),
      async close() {},
    }
    worker = createDeliveryWorker({
      spool,
      sender,
      logger: silentLogger(),
      targetOf: () => ({ retry: defaultRetryPolicy, timeoutMs: 1000 }),
      defaultTimeoutMs: 1000,
      maxInFlight: 16,
      concurrencyPerOrigin: 16,
    })
    worker.start()
    await new Promise((resolve) => setImmediate(resolve))
    const before = leases
    await memory.enqueue([newJob(1)])
    worker.notify()
    await Promise.resolve()
    expect(leases).toBe(before + 1)
    expect(worker.inFlight).toBe(1)
  })
})
