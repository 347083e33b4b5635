import { describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'
import { type CompileIssue, compileRule } from '../../rules/compile.js'
import { compileHook } from '../../rules/compile-hook.js'
import { createRuleSet } from '../../rules/rule-set.js'
import { hookRuleSchema, ruleSchema } from '../../rules/schema.js'

function rules(definitions: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  const compiled = Object.entries(definitions).map(([name, definition]) => {
    const issues: CompileIssue[] = []
    const rule = compileRule(ruleSchema.parse(definition), name, `rules/${name}.yaml`, { env }, issues)
    expect(issues).toEqual([])
    return rule!
  })
  const set = createRuleSet(compiled)
  return () => set
}

const hot = {
  description: 'hot readings',
  from: { topic: 'sensors/+device/temperature' },
  when: 'payload.celsius > 30',
  transform: '{ "device": params.device, "celsius": payload.celsius }',
  to: {
    url: 'https://alerts.example/{params.device}?key=${env:KEY}',
    headers: { authorization: 'Bearer ${env:TOKEN}', 'x-device': '{params.device}' },
  },
}
const raw = { from: { topic: ['raw/#', 'bytes/+'], qos: 2 }, to: [{ url: 'http://h/a' }, { url: 'http://h/b' }] }
const env = { KEY: 'k3y', TOKEN: 's3cret' }

const post = (app: ReturnType<typeof testApp>['app'], path: string, body: unknown) =>
  app.request(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

describe('GET /v1/rules', () => {
  it('lists the running rules with their filters and targets, secrets unresolved', async () => {
    const { app } = testApp({}, { rules: rules({ hot, raw }, env) })
    const res = await app.request('/v1/rules')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      rules: [
        {
          name: 'hot',
          file: 'rules/hot.yaml',
          description: 'hot readings',
          filters: ['sensors/+device/temperature'],
          qos: 1,
          state: 'running',
          targets: [{ method: 'POST', url: 'https://alerts.example/{params.device}?key=${env:KEY}' }],
        },
        {
          name: 'raw',
          file: 'rules/raw.yaml',
          filters: ['raw/#', 'bytes/+'],
          qos: 2,
          state: 'running',
          targets: [
            { method: 'POST', url: 'http://h/a' },
            { method: 'POST', url: 'http://h/b' },
          ],
        },
      ],
      hooks: [],
      lastReloadErrors: [],
    })
  })

  it('lists the inbound hooks with their path, verification and topic, secrets never shown', async () => {
    const issues: CompileIssue[] = []
    const definition = {
      description: 'pushes from GitHub',
      from: { hook: { name: 'gh', verify: { githubHmac: { secret: '${env:SECRET}' } } } },
      publish: { topic: 'github/{body.repository}', qos: 1, retain: true },
    }
    const hook = compileHook(
      hookRuleSchema.parse(definition),
      'github',
      'rules/github.yaml',
      { env: { SECRET: 's3cret' } },
      issues,
    )
    expect(issues).toEqual([])
    const set = createRuleSet([], [hook!])
    const { app } = testApp({}, { rules: () => set })
    const res = await app.request('/v1/rules')
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toEqual({
      rules: [],
      hooks: [
        {
          name: 'github',
          file: 'rules/github.yaml',
          description: 'pushes from GitHub',
          path: '/v1/hooks/gh',
          verification: 'githubHmac',
          topic: 'github/{body.repository}',
          qos: 1,
          retain: true,
        },
      ],
      lastReloadErrors: [],
    })
    expect(JSON.stringify(body)).not.toContain('s3cret')
  })

  it('needs a token when tokens are configured', async () => {
    const token = 'x'.repeat(32)
    const { app } = testApp({ tokens: [{ name: 't', token }] }, { rules: rules({ raw }) })
    expect((await app.request('/v1/rules')).status).toBe(401)
    expect((await app.request('/v1/rules', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
  })
})

describe('POST /v1/rules/{name}/dry-run', () => {
  it('answers the requests the rule would send, with ${env:...} values redacted', async () => {
    const { app, publisher } = testApp({}, { rules: rules({ hot, raw }, env) })
    const res = await post(app, '/v1/rules/hot/dry-run', {
      topic: 'sensors/kitchen/temperature',
      payload: { celsius: 31.5 },
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toEqual({
      matched: true,
      requests: [
        {
          target: '0',
          method: 'POST',
          url: 'https://alerts.example/kitchen?key=[redacted]',
          headers: expect.objectContaining({
            authorization: 'Bearer [redacted]',
            'x-device': 'kitchen',
            'content-type': 'application/json',
            'x-hookbridge-delivery-id': 'dry-run:hot:0',
          }),
          bodyText: '{"device":"kitchen","celsius":31.5}',
        },
      ],
    })
    expect(JSON.stringify(body)).not.toMatch(/k3y|s3cret/)
    expect(publisher.calls).toEqual([])
  })

  it('says when the topic does not match, the rule skips the message, or the message would fail', async () => {
    const { app } = testApp({}, { rules: rules({ hot, raw }, env) })
    const dry = async (topic: string, payload: unknown) =>
      (await post(app, '/v1/rules/hot/dry-run', { topic, payload })).json()
    expect(await dry('sensors/kitchen/humidity', { celsius: 40 })).toEqual({ matched: false })
    expect(await dry('raw/x', { celsius: 40 })).toEqual({ matched: false })
    expect(await dry('sensors/kitchen/temperature', { celsius: 3 })).toEqual({ matched: true, skipped: 'when' })
    const failed = await dry('sensors/kitchen/temperature', { celsius: 'hot' })
    expect(failed).toEqual({
      matched: true,
      error: { code: 'HOOKBRIDGE_TRANSFORM_FAILED', message: expect.stringContaining('Rule hot') },
    })
  })

  it('sends bytes unchanged to every target; binary bodies come back as base64', async () => {
    const { app } = testApp({}, { rules: rules({ raw }) })
    const res = await post(app, '/v1/rules/raw/dry-run', {
      topic: 'raw/a/b',
      payload: Buffer.from([0, 255, 1]).toString('base64'),
      encoding: 'base64',
      properties: { contentType: 'application/x-frame' },
    })
    const body = await res.json()
    expect(body.requests.map((r: Record<string, unknown>) => [r.url, r.bodyBase64, r.bodyText])).toEqual([
      ['http://h/a', 'AP8B', undefined],
      ['http://h/b', 'AP8B', undefined],
    ])
    expect(body.requests[0].headers['content-type']).toBe('application/x-frame')
  })

  it('answers 404 HOOKBRIDGE_RULE_NOT_FOUND for an unknown rule, 400 for a bad body or topic', async () => {
    const { app } = testApp({}, { rules: rules({ raw }) })
    const missing = await post(app, '/v1/rules/nope/dry-run', { topic: 'raw/a', payload: 'x' })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual({
      error: { code: 'HOOKBRIDGE_RULE_NOT_FOUND', message: expect.stringContaining('"nope"') },
    })
    const noTopic = await post(app, '/v1/rules/raw/dry-run', { payload: 'x' })
    expect(noTopic.status).toBe(400)
    expect((await noTopic.json()).error.code).toBe('HOOKBRIDGE_REQUEST_INVALID')
    const wildcard = await post(app, '/v1/rules/raw/dry-run', { topic: 'raw/+', payload: 'x' })
    expect(wildcard.status).toBe(400)
    expect((await wildcard.json()).error.code).toBe('HOOKBRIDGE_TOPIC_INVALID')
  })

  it('uses the rule set of the moment (a reload swaps it)', async () => {
    let current = rules({ raw })
    const { app } = testApp({}, { rules: () => current() })
    expect((await post(app, '/v1/rules/hot/dry-run', { topic: 'a', payload: 1 })).status).toBe(404)
    current = rules({ hot, raw }, env)
    expect((await post(app, '/v1/rules/hot/dry-run', { topic: 'a', payload: 1 })).status).toBe(200)
  })
})
