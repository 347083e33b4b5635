import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../../test/helpers/wait.js'
import { silentLogger } from '../observability/logger.js'
import { compileRule } from '../rules/compile.js'
import { ruleSchema } from '../rules/schema.js'
import { createMemorySpool } from '../spool/memory-spool.js'
import type { OutgoingRequest } from '../spool/spool.js'
import { retryPolicySchema } from './retry-schema.js'
import type { Sender } from './send.js'
import { signingKey, signRequest } from './sign.js'
import { createDeliveryWorker, type DeliveryWorker } from './worker.js'

const secretA = `whsec_${Buffer.from('a secret of thirty-two bytes ok!').toString('base64')}`
const secretB = `whsec_${Buffer.from('another secret, also long enough').toString('base64')}`
const request: OutgoingRequest = {
  method: 'POST',
  url: 'http://h/x',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from('{"celsius":21.5,"note":"zürich"}'),
}

function headersOf(signed: OutgoingRequest): Record<string, string> {
  return signed.headers
}

describe('Standard Webhooks signatures', () => {
  it('verify with the standardwebhooks package', () => {
    const signed = signRequest(request, 'm1:r:0', [signingKey(secretA)], Date.now())
    expect(signed.headers['webhook-id']).toBe('m1:r:0')
    expect(signed.headers['webhook-timestamp']).toMatch(/^\d{10}$/)
    expect(signed.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
    expect(new Webhook(secretA).verify(signed.body, headersOf(signed))).toEqual({ celsius: 21.5, note: 'zürich' })
    expect(() => new Webhook(secretB).verify(signed.body, headersOf(signed))).toThrow(/No matching signature/)
    // The body is signed as sent: a changed body fails.
    expect(() => new Webhook(secretA).verify('{"celsius":99}', headersOf(signed))).toThrow()
  })

  it('sign with every secret during a rotation, so either verifies', () => {
    const signed = signRequest(request, 'm1:r:0', [signingKey(secretA), signingKey(secretB)], Date.now())
    expect(signed.headers['webhook-signature']!.split(' ')).toHaveLength(2)
    expect(new Webhook(secretA).verify(signed.body, headersOf(signed))).toBeTruthy()
    expect(new Webhook(secretB).verify(signed.body, headersOf(signed))).toBeTruthy()
  })

  it('use a secret without the whsec_ prefix as raw key bytes', () => {
    const signed = signRequest(request, 'id-1', [signingKey('plain shared secret')], Date.now())
    expect(new Webhook('plain shared secret', { format: 'raw' }).verify(signed.body, headersOf(signed))).toBeTruthy()
  })

  it('reject malformed and empty secrets without echoing them', () => {
    expect(() => signingKey('whsec_not base64!')).toThrow(/must continue with base64/)
    expect(() => signingKey('whsec_')).toThrow(/base64|empty/)
    expect(() => signingKey('')).toThrow(/empty/)
  })

  it('leave a request without keys unsigned', () => {
    expect(signRequest(request, 'id', [], Date.now())).toBe(request)
  })

  it('are checked at load: bad secrets and unset variables name the field, never the value', () => {
    const issues: { path: (string | number)[]; message: string }[] = []
    const definition = ruleSchema.parse({
      from: { topic: 'a' },
      to: { url: 'http://h/x', sign: { secrets: ['whsec_%%%', '${env:MISSING_SECRET}'] } },
    })
    compileRule(definition, 'r', 'r.yaml', { env: {} }, issues)
    expect(issues.map((i) => i.path.join('.'))).toEqual(['to.sign.secrets.0', 'to.sign.secrets.1'])
    expect(issues[1]!.message).toContain('MISSING_SECRET')
    expect(JSON.stringify(issues)).not.toContain('%%%')
  })
})

describe('the worker signs at send time', () => {
  let worker: DeliveryWorker | undefined
  afterEach(async () => {
    await worker?.stop(1000)
    worker = undefined
  })

  it('with a fresh webhook-timestamp on each attempt, and the keys of the rule as loaded now', async () => {
    const issues: never[] = []
    const rule = compileRule(
      ruleSchema.parse({ from: { topic: 'a' }, to: { url: 'http://h/x', sign: { secrets: ['${env:S}'] } } }),
      'r',
      'r.yaml',
      { env: { S: secretA } },
      issues,
    )!
    const target = rule.targets[0]!
    const sent: OutgoingRequest[] = []
    let skewMs = 0
    // Each attempt moves the clock 3 s on: the retry is signed at a later second than the first attempt.
    const sender: Sender = {
      async send(req) {
        sent.push(req)
        skewMs += 3000
        return sent.length === 1 ? { status: 503, durationMs: 1 } : { status: 200, durationMs: 1 }
      },
      async close() {},
    }
    const spool = createMemorySpool()
    const retry = retryPolicySchema.parse({ initialDelayMs: 10, maxDelayMs: 10, jitter: 0 })
    worker = createDeliveryWorker({
      spool,
      sender,
      logger: silentLogger(),
      targetOf: () => ({
        retry,
        timeoutMs: 1000,
        signingKeys: target.kind === 'http' ? target.signingKeys : undefined,
      }),
      defaultTimeoutMs: 1000,
      maxInFlight: 4,
      concurrencyPerOrigin: 4,
      now: () => Date.now() + skewMs,
    })
    const message = { topic: 'a', payload: Buffer.from('{}'), qos: 1 as const, retain: false, receivedAt: Date.now() }
    await spool.enqueue([{ id: 'm1:r:0', rule: 'r', target: '0', orderKey: null, message, request }])
    worker.start()
    await waitFor(() => sent.length === 2, { what: 'two attempts' })
    const [first, second] = sent as [OutgoingRequest, OutgoingRequest]
    expect(first.headers['webhook-id']).toBe('m1:r:0')
    expect(second.headers['webhook-id']).toBe('m1:r:0')
    expect(Number(second.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(
      Number(first.headers['webhook-timestamp']) + 3,
    )
    expect(second.headers['webhook-signature']).not.toBe(first.headers['webhook-signature'])
    // The spool keeps the unsigned request: no signature, no secret at rest.
    expect(request.headers['webhook-signature']).toBeUndefined()
  })
})
