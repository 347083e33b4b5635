import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type CompileIssue, compileRule } from '../rules/compile.js'
import { ruleSchema } from '../rules/schema.js'
import type { Job } from '../spool/spool.js'
import { compileExpression } from '../transform/jsonata.js'
import { attemptOf, type BatchSettings, batchItems, batchRequest, createBatcher, requestOf } from './batcher.js'

function job(n: number, body: string | Buffer, extra: Partial<Job> = {}): Job {
  return {
    id: `m${n}:rule:0`,
    rule: 'rule',
    target: '0',
    orderKey: null,
    message: { topic: 't', payload: Buffer.from(body), qos: 1, retain: false, receivedAt: 0 },
    request: {
      method: 'POST',
      url: 'http://hook.test/in',
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'x-hookbridge-delivery-id': `m${n}:rule:0`,
        'x-team': 'ops',
      },
      body: Buffer.from(body),
    },
    createdAt: 1000 + n,
    attempts: 0,
    notBefore: 0,
    history: [],
    ...extra,
  }
}

const settings = (over: Partial<BatchSettings> = {}): BatchSettings => ({
  maxMessages: 3,
  maxBytes: 1000,
  maxWaitMs: 500,
  ...over,
})

describe('batcher', () => {
  let flushed: Job[][]
  beforeEach(() => {
    vi.useFakeTimers()
    flushed = []
  })
  afterEach(() => {
    vi.useRealTimers()
  })
  const batcher = () => createBatcher({ flush: (jobs) => flushed.push(jobs) })

  it('sends a batch when it reaches maxMessages', () => {
    const b = batcher()
    for (let i = 0; i < 7; i++) expect(b.offer(job(i, '{}'), settings())).toBe(true)
    expect(flushed.map((jobs) => jobs.map((j) => j.id))).toEqual([
      ['m0:rule:0', 'm1:rule:0', 'm2:rule:0'],
      ['m3:rule:0', 'm4:rule:0', 'm5:rule:0'],
    ])
    expect(b.pending).toBe(1)
  })

  it('sends a batch when its bodies reach maxBytes, and never lets one job push it past', () => {
    const b = batcher()
    const s = settings({ maxMessages: 100, maxBytes: 10 })
    b.offer(job(1, '"abcd"'), s) // 6 bytes
    b.offer(job(2, '"abcd"'), s) // 12 would pass 10: the first goes alone
    expect(flushed.map((jobs) => jobs.length)).toEqual([1])
    b.offer(job(3, '"a"'), s) // 6 + 3
    b.offer(job(4, '1'), s) // 10: full
    expect(flushed.map((jobs) => jobs.length)).toEqual([1, 3])
    b.offer(job(5, '"a very long body"'), s) // alone larger than maxBytes: sent alone at once
    expect(flushed.map((jobs) => jobs.length)).toEqual([1, 3, 1])
    expect(b.pending).toBe(0)
  })

  it('sends a batch maxWaitMs after its first job', () => {
    const b = batcher()
    b.offer(job(1, '1'), settings())
    vi.advanceTimersByTime(300)
    b.offer(job(2, '2'), settings())
    vi.advanceTimersByTime(199)
    expect(flushed).toEqual([])
    vi.advanceTimersByTime(1)
    expect(flushed.map((jobs) => jobs.length)).toEqual([2])
    expect(b.pending).toBe(0)
  })

  it('keeps one batch per (rule, target, method, url) and flushes or drains them all', () => {
    const b = batcher()
    b.offer(job(1, '1'), settings())
    const other = job(2, '2')
    other.request = { ...other.request, url: 'http://hook.test/other' }
    b.offer(other, settings())
    b.offer(job(3, '3', { target: '1' }), settings())
    expect(b.pending).toBe(3)
    b.flushAll()
    expect(flushed.map((jobs) => jobs.length)).toEqual([1, 1, 1])
    b.offer(job(4, '4'), settings())
    expect(b.drain().map((j) => j.id)).toEqual(['m4:rule:0'])
    vi.advanceTimersByTime(1000)
    expect(flushed).toHaveLength(3)
  })

  it('refuses jobs that go alone: no settings, ordered, MQTT', () => {
    const b = batcher()
    expect(b.offer(job(1, '1'), undefined)).toBe(false)
    expect(b.offer(job(2, '2', { orderKey: 'dev-1' }), settings())).toBe(false)
    const mqtt = job(3, '3')
    mqtt.request = { ...mqtt.request, method: 'MQTT', url: 'mqtt:out/topic' }
    expect(b.offer(mqtt, settings())).toBe(false)
    expect(b.pending).toBe(0)
  })
})

describe('batch request', () => {
  it('is a JSON array of the bodies, parsed when JSON, else base64, with the first job headers', async () => {
    const jobs = [job(1, '{"v":1}'), job(2, 'not json'), job(3, Buffer.from([0xff, 0x00]))]
    const request = await batchRequest(jobs, settings())
    expect(request.method).toBe('POST')
    expect(request.url).toBe('http://hook.test/in')
    expect(request.headers).toEqual({
      'x-team': 'ops',
      'content-type': 'application/json',
      'x-hookbridge-batch-size': '3',
      'x-hookbridge-delivery-id': 'm1:rule:0+3',
    })
    expect(JSON.parse(request.body.toString())).toEqual([
      { v: 1 },
      { base64: Buffer.from('not json').toString('base64') },
      { base64: '/wA=' },
    ])
  })

  it('is the aggregate result over the array when there is one', async () => {
    const aggregate = compileExpression('{ "count": $count($), "sum": $sum($.v) }')
    const jobs = [1, 2, 3, 4].map((v) => job(v, JSON.stringify({ v })))
    const request = await batchRequest(jobs, settings({ aggregate }))
    expect(JSON.parse(request.body.toString())).toEqual({ count: 4, sum: 10 })
  })

  it('reports a failing aggregate as HOOKBRIDGE_TRANSFORM_FAILED (dead-lettered, never retried)', async () => {
    const aggregate = compileExpression('$error("nope")')
    const result = await requestOf([job(1, '1')], settings({ aggregate }))
    expect('error' in result && result.error.code).toBe('HOOKBRIDGE_TRANSFORM_FAILED')
    expect('error' in result && result.error.retryable).toBe(false)
  })

  it('leaves a lone job as spooled', async () => {
    const lone = job(1, 'x')
    expect(await requestOf([lone], undefined)).toEqual({ id: lone.id, request: lone.request })
  })

  it('weighs a batch as its most tried and oldest job', () => {
    expect(attemptOf([job(1, '1', { attempts: 2 }), job(2, '2', { attempts: 0, createdAt: 5 })])).toEqual({
      attempts: 3,
      createdAt: 5,
    })
    expect(batchItems([job(1, '')])).toEqual([{ base64: '' }])
  })
})

describe('batch in a rule', () => {
  const compile = (batch: unknown) => {
    const definition = ruleSchema.parse({ from: { topic: 't' }, to: { url: 'http://hook.test/', batch } })
    const issues: CompileIssue[] = []
    const rule = compileRule(definition, 'r', 'r.yaml', { env: {} }, issues)
    return { target: rule?.targets[0], issues }
  }

  it('takes defaults from the schema and compiles the aggregate once', async () => {
    const { target } = compile({ aggregate: '$count($)' })
    expect(target?.kind === 'http' && target.batch).toMatchObject({
      maxMessages: 100,
      maxBytes: 1_048_576,
      maxWaitMs: 1000,
    })
    const batch = target?.kind === 'http' ? target.batch : undefined
    expect(await batch?.aggregate?.evaluate([1, 2])).toBe(2)
  })

  it('refuses unknown keys and a maxMessages below 1, and reports a bad aggregate at its field', () => {
    expect(ruleSchema.safeParse({ from: { topic: 't' }, to: { url: 'http://h/', batch: { size: 2 } } }).success).toBe(
      false,
    )
    expect(
      ruleSchema.safeParse({ from: { topic: 't' }, to: { url: 'http://h/', batch: { maxMessages: 0 } } }).success,
    ).toBe(false)
    expect(compile({ aggregate: '$count(' }).issues.map((i) => i.path)).toEqual([['to', 'batch', 'aggregate']])
  })
})
