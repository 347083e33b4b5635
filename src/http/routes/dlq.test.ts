import { beforeEach, describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'
import { createMemorySpool } from '../../spool/memory-spool.js'
import type { NewJob, Spool } from '../../spool/spool.js'
import { failed, newJob } from '../../spool/spool-fixtures.js'
import type { App } from '../app.js'

const ADMIN = 'admin-token-0123456789'
const PUBLISHER = 'publisher-token-0123456789'

let spool: Spool
let app: App
let notified: number

function build(config: Record<string, unknown> = {}): void {
  notified = 0
  app = testApp(config, { spool, notifyDelivery: () => notified++ }).app
}

/** Enqueues, leases and dead-letters the jobs, in this order. */
async function bury(...jobs: NewJob[]): Promise<void> {
  await spool.enqueue(jobs)
  for (const job of spool.lease(jobs.length, Date.now())) {
    spool.retry(job.id, 0, failed(503))
    spool.lease(1, Date.now())
    spool.deadLetter(job.id, { ...failed(400), error: 'answered HTTP 400' }, 'HTTP 400 is not retried')
  }
}

async function call(method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {}
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (token) headers.authorization = `Bearer ${token}`
  const res = await app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  return { status: res.status, body: await res.json() }
}

beforeEach(() => {
  spool = createMemorySpool()
  build()
})

describe('GET /v1/dlq', () => {
  it('lists summaries oldest first, a page at a time, optionally of one rule', async () => {
    await bury(newJob({ id: 'a' }), newJob({ id: 'b', rule: 'other' }), newJob({ id: 'c' }))
    const first = await call('GET', '/v1/dlq?limit=2')
    expect(first.status).toBe(200)
    expect(first.body.items.map((d: { id: string }) => d.id)).toEqual(['a', 'b'])
    expect(first.body.next).toBe('b')
    expect(first.body.items[0]).toEqual({
      id: 'a',
      rule: 'rule-a',
      target: 'main',
      topic: expect.stringMatching(/^sensors\/\d+\/temp$/),
      reason: 'HTTP 400 is not retried',
      attempts: 2,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      deadAt: expect.stringMatching(/Z$/),
      payloadBytes: expect.any(Number),
      lastStatus: 400,
      lastCode: 'HOOKBRIDGE_DELIVERY_STATUS',
      lastError: 'answered HTTP 400',
    })
    const second = await call('GET', '/v1/dlq?limit=2&after=b')
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: 'c' })] })
    const ofRule = await call('GET', '/v1/dlq?rule=other')
    expect(ofRule.body.items.map((d: { id: string }) => d.id)).toEqual(['b'])
  })

  it('refuses a bad limit or an unknown query parameter with 400', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=x', 'nope=1']) {
      const res = await call('GET', `/v1/dlq?${query}`)
      expect(res.status, query).toBe(400)
      expect(res.body.error.code).toBe('HOOKBRIDGE_REQUEST_INVALID')
    }
  })
})

describe('GET /v1/dlq/{id}', () => {
  it('shows the original bytes, the request with secrets redacted, and every attempt', async () => {
    const binary = Buffer.from([0, 1, 2, 0xfe, 0xff])
    const headers = {
      'content-type': 'application/json',
      authorization: 'Bearer hunter2',
      'x-api-key': 'k',
      cookie: 'session=1',
      'x-hookbridge-signature': 'sha256=abc',
      'x-my-token': 't',
      'x-client-secret': 's',
      'x-team': 'ops',
    }
    const url = 'https://user:pw@example.com/hook?token=abc&site=berlin'
    await bury(
      newJob({ id: 'text:rule-a:main', payload: Buffer.from('{"celsius":31.5}') }),
      newJob({ id: 'bin', payload: binary, request: { method: 'PUT', url, headers, body: binary } }),
    )
    const text = await call('GET', `/v1/dlq/${encodeURIComponent('text:rule-a:main')}`)
    expect(text.status).toBe(200)
    expect(text.body.message).toMatchObject({ payloadText: '{"celsius":31.5}', qos: 1, retain: false })
    expect(Buffer.from(text.body.message.payloadBase64, 'base64').toString()).toBe('{"celsius":31.5}')
    expect(text.body.history).toEqual([
      expect.objectContaining({ status: 503, code: 'HOOKBRIDGE_DELIVERY_STATUS', durationMs: 12 }),
      expect.objectContaining({ status: 400, error: 'answered HTTP 400' }),
    ])

    const bin = await call('GET', '/v1/dlq/bin')
    expect(bin.body.message.payloadText).toBeUndefined()
    expect(Buffer.from(bin.body.message.payloadBase64, 'base64').equals(binary)).toBe(true)
    expect(bin.body.request).toMatchObject({ method: 'PUT', bodyBytes: 5 })
    expect(bin.body.request.url).toBe('https://user:redacted@example.com/hook?token=redacted&site=berlin')
    expect(bin.body.request.headers).toEqual({
      'content-type': 'application/json',
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      cookie: '[redacted]',
      'x-hookbridge-signature': '[redacted]',
      'x-my-token': '[redacted]',
      'x-client-secret': '[redacted]',
      'x-team': 'ops',
    })
  })

  it('answers 404 with HOOKBRIDGE_DEAD_LETTER_NOT_FOUND for an unknown id, whatever the method', async () => {
    for (const [method, path] of [
      ['GET', '/v1/dlq/nope'],
      ['DELETE', '/v1/dlq/nope'],
      ['POST', '/v1/dlq/nope/replay'],
    ] as const) {
      const res = await call(method, path)
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(res.body.error.code).toBe('HOOKBRIDGE_DEAD_LETTER_NOT_FOUND')
      expect(res.body.error.message).toContain('hookbridge dlq list')
    }
  })
})

describe('replay', () => {
  it('re-queues by ids with the same delivery id, reports unknown ids, and wakes the worker', async () => {
    await bury(newJob({ id: 'a' }), newJob({ id: 'b' }))
    const res = await call('POST', '/v1/dlq/replay', { ids: ['a', 'missing'] })
    expect(res).toEqual({ status: 200, body: { replayed: 1, notFound: ['missing'] } })
    expect(notified).toBe(1)
    const [job] = spool.lease(10, Date.now())
    expect(job).toMatchObject({ id: 'a', attempts: 0 })
    expect((await call('GET', '/v1/dlq')).body.items.map((d: { id: string }) => d.id)).toEqual(['b'])
  })

  it('re-queues one, a rule or all of them', async () => {
    await bury(newJob({ id: 'a' }), newJob({ id: 'b', rule: 'other' }), newJob({ id: 'c' }), newJob({ id: 'd' }))
    expect((await call('POST', '/v1/dlq/a/replay')).body).toEqual({ replayed: 1 })
    expect((await call('POST', '/v1/dlq/replay', { rule: 'other' })).body).toEqual({ replayed: 1 })
    expect((await call('POST', '/v1/dlq/replay', { all: true })).body).toEqual({ replayed: 2 })
    expect(spool.stats(Date.now())).toMatchObject({ depth: 4, deadLetters: 0 })
    expect(notified).toBe(3)
    expect((await call('POST', '/v1/dlq/replay', { all: true })).body).toEqual({ replayed: 0 })
    expect(notified).toBe(3)
  })
})

describe('purge', () => {
  it('needs exactly one of ids, rule or an explicit all: true', async () => {
    await bury(newJob({ id: 'a' }))
    const noBody = await app.request('/v1/dlq/purge', { method: 'POST' })
    expect(noBody.status).toBe(400)
    for (const body of [{}, { all: false }, { ids: [] }, { ids: ['a'], rule: 'rule-a' }, { every: true }]) {
      const res = await call('POST', '/v1/dlq/purge', body)
      expect(res.status, JSON.stringify(body)).toBe(400)
      expect(res.body.error.code).toBe('HOOKBRIDGE_REQUEST_INVALID')
    }
    expect(spool.stats(Date.now()).deadLetters).toBe(1)
  })

  it('deletes by ids, by rule, one, or all', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e']
    await bury(...ids.map((id) => newJob({ id, rule: id === 'c' ? 'other' : 'rule-a' })))
    expect((await call('POST', '/v1/dlq/purge', { ids: ['a', 'x'] })).body).toEqual({ purged: 1, notFound: ['x'] })
    expect((await call('POST', '/v1/dlq/purge', { rule: 'other' })).body).toEqual({ purged: 1 })
    expect(await call('DELETE', '/v1/dlq/b')).toEqual({ status: 200, body: { purged: 1 } })
    expect((await call('POST', '/v1/dlq/purge', { all: true })).body).toEqual({ purged: 2 })
    expect(spool.stats(Date.now()).deadLetters).toBe(0)
    expect(notified).toBe(0)
  })
})

describe('who may use the dead letters', () => {
  beforeEach(() =>
    build({
      tokens: [
        { name: 'ops', token: ADMIN, admin: true },
        { name: 'sensors', token: PUBLISHER, publish: ['#'], subscribe: ['#'] },
      ],
    }),
  )

  it('lets admin tokens in, refuses other tokens with 403 and no token with 401', async () => {
    await bury(newJob({ id: 'a' }))
    expect((await call('GET', '/v1/dlq', undefined, ADMIN)).status).toBe(200)
    for (const [method, path, body] of [
      ['GET', '/v1/dlq'],
      ['GET', '/v1/dlq/a'],
      ['POST', '/v1/dlq/replay', { all: true }],
      ['POST', '/v1/dlq/a/replay'],
      ['POST', '/v1/dlq/purge', { all: true }],
      ['DELETE', '/v1/dlq/a'],
    ] as const) {
      const refused = await call(method, path, body, PUBLISHER)
      expect(refused.status, `${method} ${path}`).toBe(403)
      expect(refused.body.error).toEqual({
        code: 'HOOKBRIDGE_DLQ_FORBIDDEN',
        message: expect.stringContaining('Token "sensors" may not use the dead letters'),
      })
      expect((await call(method, path, body)).status).toBe(401)
    }
    expect(spool.stats(Date.now()).deadLetters).toBe(1)
  })
})

it('publishes the dead-letter endpoints in /openapi.json', async () => {
  const doc = (await (await app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> }
  expect(Object.keys(doc.paths['/v1/dlq']!)).toEqual(['get'])
  expect(Object.keys(doc.paths['/v1/dlq/{id}']!).sort()).toEqual(['delete', 'get'])
  expect(doc.paths['/v1/dlq/replay']).toHaveProperty('post')
  expect(doc.paths['/v1/dlq/{id}/replay']).toHaveProperty('post')
  expect(doc.paths['/v1/dlq/purge']).toHaveProperty('post')
})
