import { describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'
import { createTokenBucket } from './rate-limit.js'

describe('token bucket', () => {
  it('allows the burst, then one request per 1/rate seconds', () => {
    const bucket = createTokenBucket(2, 3, 0)
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 0])
    expect(bucket.take(0)).toBe(500)
    expect(bucket.take(250)).toBe(250)
    expect(bucket.take(500)).toBe(0)
    expect(bucket.take(10_000)).toBe(0) // refills up to the burst only
    expect(bucket.take(10_000)).toBe(0)
    expect(bucket.take(10_000)).toBe(0)
    expect(bucket.take(10_000)).toBeGreaterThan(0)
  })
})

describe('rate limit', () => {
  const tokens = [
    { name: 'a', token: 'token-a-0123456789', publish: ['#'] },
    { name: 'b', token: 'token-b-0123456789', publish: ['#'] },
  ]
  const publish = (app: ReturnType<typeof testApp>['app'], token: string) =>
    app.request('/v1/publish/t', { method: 'POST', body: 'x', headers: { authorization: `Bearer ${token}` } })

  it('answers 429 with Retry-After once a token used its burst; other tokens are not affected', async () => {
    const { app, publisher } = testApp({ tokens, rateLimit: { requestsPerSecond: 0.5, burst: 2 } })
    expect((await publish(app, tokens[0].token)).status).toBe(200)
    expect((await publish(app, tokens[0].token)).status).toBe(200)
    const limited = await publish(app, tokens[0].token)
    expect(limited.status).toBe(429)
    expect(['1', '2']).toContain(limited.headers.get('retry-after')) // 2 s per request, less the time passed
    expect((await limited.json()).error.code).toBe('HOOKBRIDGE_RATE_LIMITED')
    expect((await publish(app, tokens[1].token)).status).toBe(200)
    expect(publisher.calls).toHaveLength(3)
  })

  it('is off by default', async () => {
    const { app } = testApp({ tokens })
    for (let i = 0; i < 50; i++) expect((await publish(app, tokens[0].token)).status).toBe(200)
  })
})
