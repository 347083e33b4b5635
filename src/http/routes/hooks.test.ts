import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'
import { HookbridgeError } from '../../errors.js'
import type { CompileIssue } from '../../rules/compile.js'
import { type CompiledHook, compileHook } from '../../rules/compile-hook.js'
import { createRuleSet } from '../../rules/rule-set.js'
import { hookRuleSchema } from '../../rules/schema.js'

const SECRET = 'a-shared-secret'
const TOKEN = '0123456789abcdef-api'

function hooks(definitions: Record<string, unknown>): CompiledHook[] {
  return Object.entries(definitions).map(([name, definition]) => {
    const issues: CompileIssue[] = []
    const hook = compileHook(hookRuleSchema.parse(definition), name, `${name}.yaml`, { env: { SECRET } }, issues)
    expect(issues).toEqual([])
    return hook!
  })
}

function app(definitions: Record<string, unknown>, options: { protocolVersion?: 4 | 5; tokens?: boolean } = {}) {
  const set = createRuleSet([], hooks(definitions))
  const config = options.tokens ? { tokens: [{ name: 'api', token: TOKEN, publish: ['#'] }] } : {}
  return testApp(config, { rules: () => set, protocolVersion: options.protocolVersion })
}

const github = {
  from: { hook: { name: 'gh', verify: { githubHmac: { secret: '${env:SECRET}' } }, maxBodyBytes: 64 } },
  transform: '$exists(body.zen) ? undefined : { "repo": body.repository, "event": headers."x-github-event" }',
  publish: { topic: 'github/{body.repository}/{headers."x-github-event"}', qos: 1 },
}
const signed = (body: string, extra: Record<string, string> = {}) => ({
  method: 'POST',
  body,
  headers: {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
    ...extra,
  },
})

describe('POST /v1/hooks/{name}', () => {
  it('publishes the transformed body to the computed topic and answers 200 with the ack', async () => {
    const t = app({ github })
    const res = await t.app.request('/v1/hooks/gh', signed('{"repository":"hookbridge"}'))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      topic: 'github/hookbridge/push',
      qos: 1,
      retain: false,
      messageId: 1,
      reasonCode: 0,
    })
    expect(t.publisher.calls).toHaveLength(1)
    const call = t.publisher.calls[0]!
    expect(JSON.parse(call.payload.toString())).toEqual({ repo: 'hookbridge', event: 'push' })
    expect(call.options).toEqual({ qos: 1, retain: false, properties: { contentType: 'application/json' } })
  })

  it('refuses a wrong signature with 401 and publishes nothing', async () => {
    const t = app({ github })
    const request = signed('{"repository":"hookbridge"}')
    const res = await t.app.request('/v1/hooks/gh', { ...request, body: '{"repository":"evil"}' })
    expect(res.status).toBe(401)
    expect((await res.json()).error).toMatchObject({ code: 'HOOKBRIDGE_HOOK_SIGNATURE_INVALID' })
    expect(t.publisher.calls).toEqual([])
  })

  it('answers 204 and publishes nothing when the transform has no result', async () => {
    const t = app({ github })
    const res = await t.app.request('/v1/hooks/gh', signed('{"zen":"Keep it simple"}'))
    expect(res.status).toBe(204)
    expect(t.publisher.calls).toEqual([])
  })

  it('answers 422 when the topic cannot be computed from this body', async () => {
    const t = app({ github })
    const res = await t.app.request('/v1/hooks/gh', signed('{"other":1}'))
    expect(res.status).toBe(422)
    const { error } = await res.json()
    expect(error.code).toBe('HOOKBRIDGE_HOOK_TRANSFORM_FAILED')
    expect(error.message).toMatch(/^Hook "gh": could not compute publish\.topic: .*nothing was published/)
    const wildcard = await t.app.request('/v1/hooks/gh', signed('{"repository":"a+b"}'))
    expect(wildcard.status).toBe(422)
    expect((await wildcard.json()).error.message).toMatch(/publish\.topic gave "github\/a\+b\/push"/)
  })

  it("answers 413 past the hook's own body limit, 404 for an unknown hook", async () => {
    const t = app({ github })
    const big = await t.app.request('/v1/hooks/gh', signed(JSON.stringify({ repository: 'x'.repeat(100) })))
    expect(big.status).toBe(413)
    const unknown = await t.app.request('/v1/hooks/nope', signed('{}'))
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).error.code).toBe('HOOKBRIDGE_HOOK_NOT_FOUND')
    expect(t.publisher.calls).toEqual([])
  })

  it('needs no API token, while the rest of /v1 still does', async () => {
    const t = app({ github }, { tokens: true })
    expect((await t.app.request('/v1/hooks/gh', signed('{"repository":"r"}'))).status).toBe(200)
    expect((await t.app.request('/v1/publish/x', { method: 'POST', body: 'x' })).status).toBe(401)
    const bearer = { authorization: `Bearer ${TOKEN}` }
    expect((await t.app.request('/v1/publish/x', { method: 'POST', body: 'x', headers: bearer })).status).toBe(200)
  })

  it('publishes the body unchanged without a transform: 202 for QoS 0, content type only on MQTT 5', async () => {
    const open = { from: { hook: { verify: { none: true } } }, publish: { topic: 'raw/{query.device}', qos: 0 } }
    const body = Buffer.from([0xde, 0xad, 0xbe, 0xef])
    for (const protocolVersion of [5, 4] as const) {
      const t = app({ open }, { protocolVersion })
      const res = await t.app.request('/v1/hooks/open?device=d1', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/octet-stream' },
      })
      expect(res.status).toBe(202)
      expect(await res.json()).toEqual({ topic: 'raw/d1', qos: 0, retain: false })
      const call = t.publisher.calls[0]!
      expect(call.payload.equals(body)).toBe(true)
      expect(call.options.properties).toEqual(
        protocolVersion === 5 ? { contentType: 'application/octet-stream' } : undefined,
      )
    }
  })

  it('sets the properties of the rule, and keeps the Authorization header out of the transform', async () => {
    const token = 'a-long-enough-hook-token'
    const rule = {
      from: { hook: { verify: { bearer: { token } } } },
      transform: '$',
      publish: {
        topic: 'in/{hook}',
        properties: { userProperties: { source: '{headers."user-agent"}' }, messageExpiryInterval: 60 },
      },
    }
    const t = app({ bearer: rule })
    const res = await t.app.request('/v1/hooks/bearer', {
      method: 'POST',
      body: 'plain text',
      headers: { authorization: `Bearer ${token}`, 'user-agent': 'curl/8' },
    })
    expect(res.status).toBe(200)
    const call = t.publisher.calls[0]!
    const envelope = JSON.parse(call.payload.toString())
    expect(envelope).toMatchObject({ hook: 'bearer', method: 'POST', path: '/v1/hooks/bearer', body: 'plain text' })
    expect(envelope.bodyBase64).toBe(Buffer.from('plain text').toString('base64'))
    expect(envelope.headers.authorization).toBeUndefined()
    expect(call.options.properties).toEqual({
      contentType: 'application/json',
      userProperties: { source: 'curl/8' },
      messageExpiryInterval: 60,
    })
    expect((await t.app.request('/v1/hooks/bearer', { method: 'POST', body: 'x' })).status).toBe(401)
  })

  it('passes on what the publisher says: 503 when the broker is away', async () => {
    const t = app({ github })
    t.publisher.answer = async () => {
      throw new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail: 'not connected', retryAfterSeconds: 1 })
    }
    const res = await t.app.request('/v1/hooks/gh', signed('{"repository":"r"}'))
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
  })
})
