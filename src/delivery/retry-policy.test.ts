import { describe, expect, it } from 'vitest'
import { HookbridgeError } from '../errors.js'
import { type AttemptOutcome, backoffMs, classify, decide, formatDuration } from './retry-policy.js'
import { defaultRetryPolicy, type RetryPolicy, retryPolicySchema } from './retry-schema.js'

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => retryPolicySchema.parse(overrides)
const noJitter = () => 0
const maxJitter = () => 0.999999
const timeout = new HookbridgeError('HOOKBRIDGE_DELIVERY_TIMEOUT', { url: 'http://x/hook', timeoutMs: 200 })
const refused = new HookbridgeError('HOOKBRIDGE_DELIVERY_CONNECTION', { url: 'http://x/hook', detail: 'ECONNREFUSED' })
const now = 1_700_000_000_000

describe('retryPolicySchema', () => {
  it('fills every default', () => {
    expect(retryPolicySchema.parse({})).toEqual({
      initialDelayMs: 500,
      maxDelayMs: 60_000,
      multiplier: 2,
      jitter: 0.2,
      maxAttempts: 0,
      maxAgeMs: 86_400_000,
      retryOn: [],
      deadLetterOn: [],
      honorRetryAfter: true,
      maxRetryAfterMs: 3_600_000,
    })
    expect(defaultRetryPolicy).toEqual(retryPolicySchema.parse({}))
    expect(Object.isFrozen(defaultRetryPolicy) && Object.isFrozen(defaultRetryPolicy.retryOn)).toBe(true)
  })

  it.each([
    [{ maxAtempts: 3 }, 'maxAtempts'],
    [{ jitter: 1.5 }, 'jitter'],
    [{ retryOn: [200] }, 'retryOn'],
    [{ retryOn: [409], deadLetterOn: [409] }, 'retryOn'],
    [{ initialDelayMs: 5000, maxDelayMs: 1000 }, 'initialDelayMs'],
    [{ maxAgeMs: 0 }, 'maxAgeMs'],
  ])('rejects %j', (input, field) => {
    const result = retryPolicySchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(JSON.stringify(result.error?.issues)).toContain(field)
  })
})

describe('classify', () => {
  const p = policy()
  it.each([200, 201, 204, 299])('HTTP %i is done', (status) => expect(classify(p, { status })).toBe('done'))
  it.each([408, 429, 500, 502, 503, 504, 599])('HTTP %i is retried', (status) =>
    expect(classify(p, { status })).toBe('retry'),
  )
  it.each([100, 301, 304, 400, 401, 403, 404, 409, 410, 422])('HTTP %i is dead', (status) =>
    expect(classify(p, { status })).toBe('dead'),
  )
  it('retries timeouts and connection errors, not other errors', () => {
    expect(classify(p, { error: timeout })).toBe('retry')
    expect(classify(p, { error: refused })).toBe('retry')
    const bad = new HookbridgeError('HOOKBRIDGE_TEMPLATE_FAILED', { rule: 'r', field: 'url', detail: 'x' })
    expect(classify(p, { error: bad })).toBe('dead')
  })
  it('applies retryOn and deadLetterOn', () => {
    const custom = policy({ retryOn: [404, 409], deadLetterOn: [501] })
    expect(classify(custom, { status: 404 })).toBe('retry')
    expect(classify(custom, { status: 409 })).toBe('retry')
    expect(classify(custom, { status: 501 })).toBe('dead')
    expect(classify(custom, { status: 500 })).toBe('retry')
    expect(classify(custom, { status: 400 })).toBe('dead')
  })
})

describe('backoffMs', () => {
  const p = policy()
  it('grows exponentially up to maxDelayMs', () => {
    const delays = [1, 2, 3, 4, 8, 9, 50, 10_000].map((attempt) => backoffMs(p, attempt, noJitter))
    expect(delays).toEqual([500, 1000, 2000, 4000, 60_000, 60_000, 60_000, 60_000])
    expect(backoffMs(p, 7, noJitter)).toBe(32_000)
  })
  it('takes up to the jitter fraction off', () => {
    expect(backoffMs(p, 1, maxJitter)).toBe(400)
    expect(backoffMs(p, 1, () => 0.5)).toBe(450)
    expect(backoffMs(policy({ jitter: 1 }), 3, () => 0.25)).toBe(1500)
    expect(backoffMs(policy({ jitter: 0 }), 3, maxJitter)).toBe(2000)
  })
})

describe('decide', () => {
  const p = policy()
  const job = { attempts: 1, createdAt: now }
  const run = (outcome: AttemptOutcome, overrides: Partial<RetryPolicy> = {}, progress = job) =>
    decide(policy(overrides), progress, outcome, now, noJitter)

  it('is done on 2xx', () => expect(run({ status: 204 })).toEqual({ action: 'done' }))

  it('dead-letters what is not retried, saying why', () => {
    expect(run({ status: 400 })).toEqual({ action: 'dead', reason: 'HTTP 400 is not retried' })
    expect(run({ status: 501 }, { deadLetterOn: [501] })).toEqual({ action: 'dead', reason: 'HTTP 501 is not retried' })
  })

  it('retries after the backoff', () => {
    expect(run({ status: 503 })).toEqual({ action: 'retry', notBefore: now + 500, delayMs: 500 })
    expect(run({ error: timeout }, {}, { attempts: 3, createdAt: now })).toEqual({
      action: 'retry',
      notBefore: now + 2000,
      delayMs: 2000,
    })
    expect(decide(p, job, { status: 500 }, now, maxJitter)).toMatchObject({ action: 'retry', delayMs: 400 })
  })

  it('gives up after maxAttempts', () => {
    const progress = { attempts: 12, createdAt: now }
    expect(run({ status: 503 }, { maxAttempts: 12 }, progress)).toEqual({
      action: 'dead',
      reason: 'gave up after 12 attempts: HTTP 503',
    })
    expect(run({ status: 503 }, { maxAttempts: 13 }, progress).action).toBe('retry')
    expect(run({ error: refused }, { maxAttempts: 1 })).toEqual({
      action: 'dead',
      reason: 'gave up after 1 attempt: HOOKBRIDGE_DELIVERY_CONNECTION: Could not reach http://x/hook: ECONNREFUSED',
    })
  })

  it('gives up when the next attempt would be later than maxAgeMs', () => {
    const maxAgeMs = 10_000
    // Next attempt exactly at the deadline is still made.
    expect(run({ status: 500 }, { maxAgeMs }, { attempts: 1, createdAt: now - 9_500 }).action).toBe('retry')
    expect(run({ status: 500 }, { maxAgeMs }, { attempts: 1, createdAt: now - 9_501 })).toEqual({
      action: 'dead',
      reason: 'gave up after 1 attempt over 9.5s (limit 10s): HTTP 500',
    })
    const day = { attempts: 1440, createdAt: now - 86_390_000 }
    expect(run({ status: 502 }, {}, day)).toEqual({
      action: 'dead',
      reason: 'gave up after 1440 attempts over 23h59m50s (limit 24h): HTTP 502',
    })
  })

  it('honours Retry-After on 429 and 503, within maxRetryAfterMs', () => {
    expect(run({ status: 429, retryAfterMs: 30_000 })).toMatchObject({ delayMs: 30_000, notBefore: now + 30_000 })
    expect(run({ status: 503, retryAfterMs: 10 })).toMatchObject({ delayMs: 500 })
    expect(run({ status: 503, retryAfterMs: 86_400_000 })).toMatchObject({ delayMs: 3_600_000 })
    expect(run({ status: 503, retryAfterMs: 30_000 }, { maxRetryAfterMs: 5000 })).toMatchObject({ delayMs: 5000 })
    // The cap never shortens our own backoff.
    const late = { attempts: 10, createdAt: now }
    expect(run({ status: 503, retryAfterMs: 90_000 }, { maxRetryAfterMs: 1000 }, late)).toMatchObject({
      delayMs: 60_000,
    })
  })

  it('ignores Retry-After on other statuses and when told to', () => {
    expect(run({ status: 500, retryAfterMs: 30_000 })).toMatchObject({ delayMs: 500 })
    expect(run({ status: 429, retryAfterMs: 30_000 }, { honorRetryAfter: false })).toMatchObject({ delayMs: 500 })
  })

  it('dead-letters when Retry-After points past maxAgeMs', () => {
    const decision = run({ status: 503, retryAfterMs: 120_000 }, { maxAgeMs: 60_000 })
    expect(decision).toEqual({ action: 'dead', reason: 'gave up after 1 attempt over 0ms (limit 1m): HTTP 503' })
  })

  it('dead-letters non-retryable errors with their code', () => {
    const bad = new HookbridgeError('HOOKBRIDGE_HOST_NOT_ALLOWED', { rule: 'r', host: 'evil.example' })
    const decision = run({ error: bad })
    expect(decision.action).toBe('dead')
    expect(decision).toMatchObject({ reason: expect.stringMatching(/^HOOKBRIDGE_HOST_NOT_ALLOWED is not retried: /) })
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [999, '999ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [86_400_000, '24h'],
  ])('%i -> %s', (ms, text) => expect(formatDuration(ms)).toBe(text))
})
