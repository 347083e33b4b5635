import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'
import { filterCovers } from './auth.js'

const secret = 'a-very-long-secret-1234'
const hashed = 'another-long-secret-5678'
const tokens = [
  { name: 'sensors', token: secret, publish: ['sensors/#'], subscribe: ['sensors/+/temp'] },
  { name: 'ops', sha256: createHash('sha256').update(hashed).digest('hex'), publish: ['ops/+/cmd'], subscribe: ['#'] },
]

describe('bearer tokens', () => {
  const publish = (app: ReturnType<typeof testApp>['app'], topic: string, authorization?: string) =>
    app.request(`/v1/publish/${topic}`, {
      method: 'POST',
      body: 'x',
      headers: authorization === undefined ? {} : { authorization },
    })

  it('answers 401 without a token, with a malformed header and with a wrong token', async () => {
    const { app, publisher } = testApp({ tokens })
    for (const authorization of [undefined, secret, `Basic ${secret}`, 'Bearer wrong-token-of-some-length']) {
      const res = await publish(app, 'sensors/a', authorization)
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="hookbridge"')
      expect((await res.json()).error.code).toBe('HOOKBRIDGE_UNAUTHORIZED')
    }
    expect(publisher.calls).toHaveLength(0)
  })

  it('leaves /v1/hooks and everything under it to the hooks (no token, no API body limit), nothing else', async () => {
    const { app } = testApp({ tokens, maxBodyBytes: 16 })
    const post = (path: string) => app.request(path, { method: 'POST', body: 'x'.repeat(64) })
    // No such hook: the hooks route answers, not the token check or the API body limit.
    for (const path of ['/v1/hooks', '/v1/hooks/', '/v1/hooks/nope', '/v1/hooks/a/b']) {
      expect((await post(path)).status, path).toBe(404)
    }
    for (const path of ['/v1/hooksx', '/v1/hook', '/v1/publish/hooks']) {
      expect((await post(path)).status, path).toBe(401)
    }
    const big = await app.request('/v1/publish/sensors/a', {
      method: 'POST',
      body: 'x'.repeat(64),
      headers: { authorization: `Bearer ${secret}` },
    })
    expect(big.status).toBe(413)
  })

  it('accepts a plain token and a sha256 one, case-insensitive scheme', async () => {
    const { app } = testApp({ tokens })
    expect((await publish(app, 'sensors/a', `Bearer ${secret}`)).status).toBe(200)
    expect((await publish(app, 'ops/x/cmd', `bearer ${hashed}`)).status).toBe(200)
  })

  it("answers 403 for a topic outside the token's publish filters, naming the token", async () => {
    const { app, publisher } = testApp({ tokens })
    const res = await publish(app, 'ops/x/cmd', `Bearer ${secret}`)
    expect(res.status).toBe(403)
    const { error } = await res.json()
    expect(error.code).toBe('HOOKBRIDGE_FORBIDDEN')
    expect(error.message).toContain('"sensors"')
    expect(error.message).not.toContain(secret)
    expect(publisher.calls).toHaveLength(0)
  })

  it('checks every item of a JSON or batch publish', async () => {
    const { app } = testApp({ tokens })
    const res = await app.request('/v1/publish/batch', {
      method: 'POST',
      body: JSON.stringify([
        { topic: 'sensors/a', payload: 'x' },
        { topic: 'elsewhere', payload: 'x' },
      ]),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    })
    expect((await res.json()).results.map((r: { status: number }) => r.status)).toEqual([200, 403])
  })

  it("answers 403 for a subscription outside the token's subscribe filters", async () => {
    const { app } = testApp({ tokens })
    const headers = { authorization: `Bearer ${secret}` }
    const denied = await app.request('/v1/subscribe?topic=sensors/%23', { headers })
    expect(denied.status).toBe(403)
    const allowed = await app.request('/v1/subscribe?topic=sensors/kitchen/temp', { headers })
    expect(allowed.status).toBe(200)
    await allowed.body?.cancel()
  })

  it('leaves /healthz, /readyz, /openapi.json and /docs open', async () => {
    const { app } = testApp({ tokens })
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
      expect((await app.request(path)).status).toBe(200)
    }
  })
})

describe('filterCovers', () => {
  it.each([
    ['#', 'a/b', true],
    ['#', '#', true],
    ['a/#', 'a', true],
    ['a/#', 'a/+/c', true],
    ['a/+', 'a/b', true],
    ['a/+', 'a/+', true],
    ['+/+', 'a/b', true],
    ['a/+', 'a/#', false],
    ['a/b', 'a/+', false],
    ['a/+/#', 'a/#', false],
    ['a/+', 'a/b/c', false],
    ['a/b/c', 'a/b', false],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/broker/load', true],
  ])('%s covers %s: %s', (general, specific, expected) => {
    expect(filterCovers(general, specific)).toBe(expected)
  })
})
