import { Writable } from 'node:stream'
import { Registry } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../../test/helpers/wait.js'
import { HookbridgeError } from '../errors.js'
import type { PublishOptions } from '../mqtt/publish.js'
import { createLogger } from '../observability/logger.js'
import { type CompileIssue, compileRule } from '../rules/compile.js'
import { createRuleSet } from '../rules/rule-set.js'
import { ruleSchema } from '../rules/schema.js'
import type { Job } from '../spool/spool.js'
import { createReplyPublisher, type ReplyPublisher } from './reply.js'
import type { SendResult } from './send.js'

interface Published {
  topic: string
  payload: string
  options: PublishOptions
}

const logs: Array<{ level: number; msg: string; code?: string }> = []
const logger = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk, _encoding, done) {
      logs.push(JSON.parse(chunk.toString()))
      done()
    },
  }),
})

function setup(reply: Record<string, unknown>, failures: unknown[] = [], mqtt5 = true, retryDelaysMs = [5, 5]) {
  const issues: CompileIssue[] = []
  const definition = ruleSchema.parse({ from: { topic: 'devices/+device/cmd' }, to: { url: 'http://h/x', reply } })
  const rule = compileRule(definition, 'cmd', 'cmd.yaml', { env: {} }, issues)!
  expect(issues).toEqual([])
  const published: Published[] = []
  let tries = 0
  const registry = new Registry()
  const replies = createReplyPublisher({
    rules: () => createRuleSet([rule]),
    async publish(topic, payload, options) {
      tries++
      const failure = failures.shift()
      if (failure) throw failure
      published.push({ topic, payload: payload.toString(), options })
      return {}
    },
    logger,
    mqtt5,
    registry,
    retryDelaysMs,
  })
  const counts = async () => {
    const metric = await registry.getSingleMetric('hookbridge_replies_total')!.get()
    return Object.fromEntries(metric.values.map((v) => [v.labels.outcome, v.value]))
  }
  return { replies, published, counts, tries: () => tries }
}

const job: Job = {
  id: 'm1:cmd:0',
  rule: 'cmd',
  target: '0',
  orderKey: null,
  message: {
    topic: 'devices/d7/cmd',
    payload: Buffer.from('{"op":"reboot"}'),
    qos: 1,
    retain: false,
    receivedAt: 0,
    properties: {
      responseTopic: 'clients/c1/responses',
      correlationData: Buffer.from('req-42').toString('base64'),
      userProperties: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    },
  },
  request: { method: 'POST', url: 'http://h/x', headers: {}, body: Buffer.alloc(0) },
  createdAt: 0,
  attempts: 0,
  notBefore: 0,
  history: [],
}

function event(result: Partial<SendResult>, action: 'done' | 'retry' | 'dead' = 'done') {
  const full: SendResult = { durationMs: 1, headers: { 'content-type': 'application/json' }, ...result }
  return { job, result: full, record: { at: 0, durationMs: 1 }, action }
}

let current: ReplyPublisher | undefined
afterEach(() => {
  current?.close()
  current = undefined
  logs.length = 0
})

describe('replies', () => {
  it('publish the shaped response to the topic template, with correlation data and trace context', async () => {
    const { replies, published, counts } = setup({
      topic: 'devices/{params.device}/ack',
      transform:
        '{ "ok": status = 200, "op": request.payload.op, "answer": body.result, "type": headers."content-type" }',
    })
    current = replies
    replies.onAttempt(event({ status: 200, body: Buffer.from('{"result":"rebooting"}') }))
    await waitFor(() => published.length === 1, { what: 'reply' })
    expect(published[0]!.topic).toBe('devices/d7/ack')
    expect(JSON.parse(published[0]!.payload)).toEqual({
      ok: true,
      op: 'reboot',
      answer: 'rebooting',
      type: 'application/json',
    })
    expect(published[0]!.options).toEqual({
      qos: 1,
      retain: false,
      properties: {
        contentType: 'application/json',
        correlationData: Buffer.from('req-42'),
        userProperties: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      },
    })
    expect(await counts()).toEqual({ published: 1 })
  })

  it('go to the response topic with the response body as is when there is no topic and no transform', async () => {
    const { replies, published } = setup({ qos: 0 })
    current = replies
    replies.onAttempt(event({ status: 201, headers: { 'content-type': 'text/plain' }, body: Buffer.from('done') }))
    await waitFor(() => published.length === 1, { what: 'reply' })
    expect(published[0]).toMatchObject({ topic: 'clients/c1/responses', payload: 'done', options: { qos: 0 } })
    expect(published[0]!.options.properties?.contentType).toBe('text/plain')
  })

  it('carry no MQTT 5 properties on an MQTT 3.1.1 connection', async () => {
    const { replies, published } = setup({ topic: 'acks' }, [], false)
    current = replies
    replies.onAttempt(event({ status: 200, body: Buffer.from('{}') }))
    await waitFor(() => published.length === 1, { what: 'reply' })
    expect(published[0]!.options).toEqual({ qos: 1, retain: false })
  })

  it('follow the error path for non-2xx responses unless onStatus is any', async () => {
    const strict = setup({ topic: 'acks' })
    current = strict.replies
    strict.replies.onAttempt(event({ status: 500, body: Buffer.from('boom') }, 'retry'))
    strict.replies.onAttempt(event({ error: new HookbridgeError('HOOKBRIDGE_DELIVERY_TIMEOUT', {}) }, 'retry'))
    const any = setup({ topic: 'acks', onStatus: 'any', transform: '{ "status": status }' })
    any.replies.onAttempt(event({ status: 500, body: Buffer.from('boom') }, 'retry'))
    await waitFor(() => any.published.length === 1, { what: 'reply to the 500' })
    any.replies.close()
    expect(JSON.parse(any.published[0]!.payload)).toEqual({ status: 500 })
    expect(strict.published).toEqual([])
  })

  it('are tried again while the broker is away, then published once', async () => {
    const away = () => new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail: 'down' })
    const { replies, published, counts } = setup({ topic: 'acks' }, [away(), away()])
    current = replies
    replies.onAttempt(event({ status: 200, body: Buffer.from('{}') }))
    await waitFor(() => published.length === 1, { what: 'reply after two failures' })
    expect(await counts()).toEqual({ published: 1 })
  })

  it('that cannot be published are logged and counted, never dropped silently', async () => {
    const refused = new HookbridgeError('HOOKBRIDGE_PUBLISH_REJECTED', { topic: 'acks', reasonCode: 135 })
    const { replies, published, counts } = setup({ topic: 'acks' }, [refused])
    current = replies
    replies.onAttempt(event({ status: 200, body: Buffer.from('{}') }))
    await waitFor(async () => (await counts()).failed === 1, { what: 'failure counted' })
    expect(published).toEqual([])
    expect(logs.find((l) => l.code === 'HOOKBRIDGE_REPLY_FAILED')?.msg).toMatch(
      /the reply to delivery m1:cmd:0 was not published to "acks".*reason code 135/,
    )
  })

  it('still waiting when hookbridge stops are logged and counted as failed', async () => {
    const away = () => new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail: 'down' })
    // The next try would be a minute away: close() must not wait for it, nor leave its timer behind.
    const { replies, counts, tries } = setup({ topic: 'acks' }, [away(), away()], true, [60_000])
    replies.onAttempt(event({ status: 200, body: Buffer.from('{}') }))
    await waitFor(() => logs.some((l) => /trying again in 60000 ms/.test(l.msg)), { what: 'a second try planned' })
    expect(await counts()).toEqual({})
    replies.close()
    await waitFor(async () => (await counts()).failed === 1, { what: 'failure counted' })
    expect(tries()).toBe(1)
  })

  it('that would loop back into the rule are not published', async () => {
    const { replies, published, counts } = setup({ topic: 'devices/{params.device}/cmd' })
    current = replies
    replies.onAttempt(event({ status: 200, body: Buffer.from('{}') }))
    await waitFor(async () => (await counts()).failed === 1, { what: 'failure counted' })
    expect(published).toEqual([])
    expect(logs.some((l) => /feed the message back into the rule/.test(l.msg))).toBe(true)
  })

  it('are skipped (and counted) when there is no topic to publish to', async () => {
    const { replies, published, counts } = setup({})
    current = replies
    const bare = { ...job, message: { ...job.message, properties: {} } }
    replies.onAttempt({ ...event({ status: 200, body: Buffer.from('{}') }), job: bare })
    await waitFor(async () => (await counts()).skipped === 1, { what: 'skip counted' })
    expect(published).toEqual([])
  })
})
