import { createHash, createHmac } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import type { HookVerification } from '../rules/compile-hook.js'
import { type HookRequest, verifyHookRequest } from './hook-verify.js'

const request = (headers: Record<string, string>, body: string, nowMs = Date.now()): HookRequest => ({
  header: (name) => headers[name],
  body: Buffer.from(body),
  nowMs,
})
const verify = (verification: HookVerification, req: HookRequest) => () => verifyHookRequest('h', verification, req)

describe('Standard Webhooks', () => {
  // The example of the Standard Webhooks reference libraries.
  const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64')
  const standard: HookVerification = { kind: 'standardWebhooks', keys: [key] }
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
  const timestamp = '1614265330'
  const body = '{"test": 2432232314}'
  const signature = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
  const at = Number(timestamp) * 1000
  const headers = { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }

  it('accepts the reference example', () => {
    expect(verify(standard, request(headers, body, at))).not.toThrow()
  })

  it('agrees with the standardwebhooks package on what is signed and how', () => {
    const secret = `whsec_${Buffer.from('a key of our own').toString('base64')}`
    const now = new Date()
    const official = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_1', now, '{"name":"ü"}'),
    }
    const ours: HookVerification = {
      kind: 'standardWebhooks',
      keys: [Buffer.from(secret.slice('whsec_'.length), 'base64')],
    }
    expect(verify(ours, request(official, '{"name":"ü"}', now.getTime()))).not.toThrow()
    expect(() => new Webhook(secret).verify('{"name":"ü"}', official)).not.toThrow()
    expect(verify(ours, request(official, '{"name":"u"}', now.getTime()))).toThrow(/no v1 signature/)
  })

  it('refuses a changed body, id or timestamp', () => {
    expect(verify(standard, request(headers, '{"test": 2432232315}', at))).toThrow(/no v1 signature .* matches/)
    expect(verify(standard, request({ ...headers, 'webhook-id': 'msg_other' }, body, at))).toThrow(/no v1 signature/)
    const later = { ...headers, 'webhook-timestamp': String(Number(timestamp) + 1) }
    expect(verify(standard, request(later, body, at))).toThrow(/no v1 signature/)
  })

  it('refuses a timestamp more than five minutes away, either way', () => {
    expect(verify(standard, request(headers, body, at + 301_000))).toThrow(/301 s away .*at most 300 s/)
    expect(verify(standard, request(headers, body, at - 301_000))).toThrow(/away from this server's clock/)
    expect(verify(standard, request(headers, body, at + 299_000))).not.toThrow()
  })

  it('takes any matching v1 signature among several, and any of several secrets (rotation)', () => {
    const several = { ...headers, 'webhook-signature': `v1a,abc v1,AAAA ${signature}` }
    expect(verify(standard, request(several, body, at))).not.toThrow()
    const rotated: HookVerification = { kind: 'standardWebhooks', keys: [Buffer.from('new key'), key] }
    expect(verify(rotated, request(headers, body, at))).not.toThrow()
  })

  it('says which headers are missing and refuses malformed ones', () => {
    const { 'webhook-signature': _, ...unsigned } = headers
    expect(verify(standard, request(unsigned, body, at))).toThrow(/needs the webhook-id, webhook-timestamp and/)
    expect(verify(standard, request({ ...headers, 'webhook-timestamp': 'soon' }, body, at))).toThrow(/not a number/)
    expect(verify(standard, request({ ...headers, 'webhook-signature': 'v2,xyz' }, body, at))).toThrow(/no v1/)
  })

  it('answers with HOOKBRIDGE_HOOK_SIGNATURE_INVALID (401)', () => {
    try {
      verifyHookRequest('orders', standard, request(headers, 'x', at))
      expect.unreachable()
    } catch (err) {
      expect(err).toMatchObject({ code: 'HOOKBRIDGE_HOOK_SIGNATURE_INVALID', status: 401 })
      expect((err as Error).message).toMatch(/^Hook "orders": .*; nothing was published\.$/)
    }
  })
})

describe('GitHub X-Hub-Signature-256', () => {
  // The example in GitHub's documentation ("Validating webhook deliveries").
  const github: HookVerification = { kind: 'githubHmac', key: Buffer.from("It's a Secret to Everybody") }
  const good = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'

  it('accepts the documented example, in either hex case', () => {
    expect(verify(github, request({ 'x-hub-signature-256': good }, 'Hello, World!'))).not.toThrow()
    expect(
      verify(
        github,
        request({ 'x-hub-signature-256': good.toUpperCase().replace('SHA256', 'sha256') }, 'Hello, World!'),
      ),
    ).not.toThrow()
  })

  it('refuses another body, a missing header and a malformed one', () => {
    expect(verify(github, request({ 'x-hub-signature-256': good }, 'Hello, World?'))).toThrow(/does not match the body/)
    expect(verify(github, request({}, 'Hello, World!'))).toThrow(/no X-Hub-Signature-256 header/)
    expect(verify(github, request({ 'x-hub-signature-256': 'sha1=abc' }, 'Hello, World!'))).toThrow(/not "sha256=/)
    const sha1 = createHmac('sha1', "It's a Secret to Everybody").update('Hello, World!').digest('hex')
    expect(verify(github, request({ 'x-hub-signature-256': `sha256=${sha1}` }, 'Hello, World!'))).toThrow(
      /not "sha256=/,
    )
  })
})

describe('bearer token', () => {
  const token = 'a-long-enough-hook-token'
  const bearer: HookVerification = { kind: 'bearer', digest: createHash('sha256').update(token).digest() }

  it('accepts the token and refuses others', () => {
    expect(verify(bearer, request({ authorization: `Bearer ${token}` }, ''))).not.toThrow()
    expect(verify(bearer, request({ authorization: `bearer ${token}` }, ''))).not.toThrow()
    expect(verify(bearer, request({ authorization: `Bearer ${token}x` }, ''))).toThrow(/not the one this hook takes/)
    expect(verify(bearer, request({ authorization: `Basic ${token}` }, ''))).toThrow(/not "Bearer <token>"/)
    expect(verify(bearer, request({}, ''))).toThrow(/no Authorization header/)
  })

  it('none: true lets everything through', () => {
    expect(verify({ kind: 'none' }, request({}, 'x'))).not.toThrow()
  })
})
