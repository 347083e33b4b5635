import { describe, expect, it } from 'vitest'
import { silentLogger } from '../observability/logger.js'
import { compileRule } from '../rules/compile.js'
import { createRuleSet } from '../rules/rule-set.js'
import { ruleSchema } from '../rules/schema.js'
import { createMemorySpool } from '../spool/memory-spool.js'
import type { SourceMessage } from '../spool/spool.js'
import { createIngest, type IngestOptions } from './ingest.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function setup(extra: Partial<IngestOptions> = {}) {
  const issues: unknown[] = []
  const definition = {
    from: { topic: 'dev/+id/t' },
    transform: '{ "id": params.id, "seq": payload.seq }',
    to: { url: 'http://h/x' },
  }
  const rule = compileRule(ruleSchema.parse(definition), 'r', 'r.yaml', { env: {} }, issues as never[])
  expect(issues).toEqual([])
  const rules = createRuleSet([rule!])
  const spool = createMemorySpool()
  const ingest = createIngest({ rules: () => rules, spool, logger: silentLogger(), onEnqueued() {}, ...extra })
  return { ingest, spool }
}

function message(seq: number): SourceMessage {
  return {
    topic: `dev/d${seq % 7}/t`,
    payload: Buffer.from(JSON.stringify({ seq })),
    qos: 1,
    retain: false,
    receivedAt: 1_700_000_000_000 + seq,
  }
}

describe('ingest', () => {
  it('stores messages in the order they arrived, with time-ordered message ids', async () => {
    const { ingest, spool } = setup()
    await Promise.all(Array.from({ length: 300 }, (_, seq) => ingest.handle(message(seq))))
    const jobs = spool.lease(1000, Date.now())
    expect(jobs.map((j) => JSON.parse(j.request.body.toString()).seq)).toEqual([...Array(300).keys()])
    const messageIds = jobs.map((j) => j.id.split(':')[0]!)
    for (const id of messageIds) expect(id).toMatch(UUID_V7)
    for (let i = 1; i < messageIds.length; i++) expect(messageIds[i]! > messageIds[i - 1]!).toBe(true)
    expect(jobs[0]!.id).toBe(`${messageIds[0]}:r:0`)
    expect(ingest.counters).toMatchObject({ received: 300, matched: 300, jobs: 300 })
  })

  it('lets the event loop turn between slices of preparation', async () => {
    const { ingest, spool } = setup({ sliceMs: 0 })
    const handled = [ingest.handle(message(1)), ingest.handle(message(2)), ingest.handle(message(3))]
    // Registered after all three arrived: it runs before the last is prepared, since each slice ends with a turn.
    const receivedAtTurn = new Promise<number>((resolve) => setImmediate(() => resolve(ingest.counters.received)))
    await Promise.all(handled)
    expect(await receivedAtTurn).toBeLessThan(3)
    expect(spool.lease(10, Date.now()).map((j) => JSON.parse(j.request.body.toString()).seq)).toEqual([1, 2, 3])
  })

  it('rejects only the message whose store failed and goes on with the next', async () => {
    const { ingest, spool } = setup()
    const enqueue = spool.enqueue.bind(spool)
    let calls = 0
    spool.enqueue = (jobs) => (++calls === 2 ? Promise.reject(new Error('disk full')) : enqueue(jobs))
    const results = await Promise.allSettled([1, 2, 3].map((seq) => ingest.handle(message(seq))))
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(spool.lease(10, Date.now()).map((j) => JSON.parse(j.request.body.toString()).seq)).toEqual([1, 3])
  })
})
