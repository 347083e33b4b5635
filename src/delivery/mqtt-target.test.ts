import { describe, expect, it } from 'vitest'
import { HookbridgeError } from '../errors.js'
import type { PublishOptions } from '../mqtt/publish.js'
import { type CompileIssue, compileRule } from '../rules/compile.js'
import { ruleSchema } from '../rules/schema.js'
import type { SourceMessage } from '../spool/spool.js'
import { decodePayload } from '../transform/envelope.js'
import { prepareDeliveries } from '../transform/prepare.js'
import { decodeMqttRequest, encodeMqttRequest, type MqttMessage, publishJob } from './mqtt-target.js'

function compile(definition: unknown, env: NodeJS.ProcessEnv = {}) {
  const issues: CompileIssue[] = []
  const rule = compileRule(ruleSchema.parse(definition), 'r', 'r.yaml', { env }, issues)
  return { rule, issues: issues.map((i) => `${i.path.join('.')}: ${i.message}`) }
}

const message: SourceMessage = {
  topic: 'in/d1/reading',
  payload: Buffer.from('{"celsius":21}'),
  qos: 1,
  retain: false,
  receivedAt: 1_700_000_000_000,
  properties: { contentType: 'application/json', userProperties: { traceparent: '00-abc-def-01', other: 'x' } },
}

describe('MQTT targets in the spool', () => {
  it('encode topic, QoS, retain and properties in the request shape, and decode them back', () => {
    const original: MqttMessage = {
      topic: 'out/d1',
      payload: Buffer.from([0, 1, 255]),
      qos: 2,
      retain: true,
      contentType: 'application/octet-stream',
      messageExpiryInterval: 60,
      userProperties: { a: '1', b: ['2', '3'] },
    }
    const request = encodeMqttRequest(original)
    expect(request).toMatchObject({ method: 'MQTT', url: 'out/d1' })
    expect(request.headers).toEqual({
      'mqtt-qos': '2',
      'mqtt-retain': 'true',
      'content-type': 'application/octet-stream',
      'mqtt-message-expiry-interval': '60',
      'mqtt-user-properties': '{"a":"1","b":["2","3"]}',
    })
    expect(decodeMqttRequest(request)).toEqual(original)
    // A job dead-lettered at intake has no headers: QoS 1, no retain.
    expect(decodeMqttRequest({ method: 'MQTT', url: 't', headers: {}, body: Buffer.alloc(0) })).toMatchObject({
      qos: 1,
      retain: false,
    })
  })

  it('are prepared from the rule: computed topic, transform output, declared properties, trace context', async () => {
    const { rule, issues } = compile({
      from: { topic: 'in/+device/reading' },
      transform: '{ "device": params.device, "c": payload.celsius }',
      to: [
        { url: 'http://h/x' },
        {
          mqtt: {
            topic: 'out/{params.device}',
            qos: 0,
            retain: true,
            properties: {
              contentType: 'application/json',
              userProperties: { source: '{topic}' },
              messageExpiryInterval: 30,
            },
          },
        },
      ],
    })
    expect(issues).toEqual([])
    const prepared = await prepareDeliveries(rule!, { device: 'd1' }, message, decodePayload(message.payload), 'm1')
    expect(prepared.kind).toBe('jobs')
    if (prepared.kind !== 'jobs') return
    expect(prepared.jobs.map((j) => [j.id, j.request.method])).toEqual([
      ['m1:r:0', 'POST'],
      ['m1:r:1', 'MQTT'],
    ])
    expect(decodeMqttRequest(prepared.jobs[1]!.request)).toEqual({
      topic: 'out/d1',
      payload: Buffer.from('{"device":"d1","c":21}'),
      qos: 0,
      retain: true,
      contentType: 'application/json',
      messageExpiryInterval: 30,
      userProperties: { traceparent: '00-abc-def-01', source: 'in/d1/reading' },
    })
  })

  it('carry the message content type on when the payload is passed on unchanged', async () => {
    const { rule } = compile({ from: { topic: 'in/+device/reading' }, to: { mqtt: { topic: 'copy' } } })
    const prepared = await prepareDeliveries(rule!, { device: 'd1' }, message, decodePayload(message.payload), 'm1')
    if (prepared.kind !== 'jobs') throw new Error(prepared.kind)
    expect(decodeMqttRequest(prepared.jobs[0]!.request)).toMatchObject({
      topic: 'copy',
      payload: message.payload,
      qos: 1,
      retain: false,
      contentType: 'application/json',
    })
  })

  it('fail a message whose computed topic is not a valid topic', async () => {
    const { rule } = compile({ from: { topic: 'in/#rest' }, to: { mqtt: { topic: 'out/{payload.name}' } } })
    const bad = { ...message, payload: Buffer.from('{"name":"a/+"}') }
    const prepared = await prepareDeliveries(rule!, { rest: 'x' }, bad, decodePayload(bad.payload), 'm1')
    expect(prepared.kind === 'failed' && prepared.error.code).toBe('HOOKBRIDGE_TOPIC_INVALID')
  })

  it('refuse at load a static topic that the rule’s own filters match, and an invalid static topic', () => {
    expect(compile({ from: { topic: 'in/#' }, to: { mqtt: { topic: 'in/processed' } } }).issues).toEqual([
      expect.stringMatching(/^to\.mqtt\.topic: "in\/processed" matches this rule's own filter "in\/#"/),
    ])
    expect(compile({ from: { topic: 'a' }, to: { mqtt: { topic: 'x/+' } } }).issues).toEqual([
      expect.stringMatching(/^to\.mqtt\.topic: .*wildcards/),
    ])
    expect(
      compile({ from: { topic: 'a/+id' }, to: [{ url: 'http://h' }, { mqtt: { topic: '{env}' } }] }).issues,
    ).toEqual([])
    expect(
      compile({ from: { topic: 'a' }, to: { url: 'http://h', reply: { topic: '${env:T}' } } }, { T: 'a' }).issues,
    ).toEqual([expect.stringMatching(/^to\.reply\.topic: "a" matches this rule's own filter/)])
  })
})

describe('publishing an MQTT job', () => {
  const request = encodeMqttRequest({ topic: 'out/d1', payload: Buffer.from('x'), qos: 1, retain: false })
  const noLoop = () => undefined

  it('is done when the broker acknowledges, with the decoded options', async () => {
    const calls: Array<[string, string, PublishOptions]> = []
    const withProps = encodeMqttRequest({
      topic: 'out/d1',
      payload: Buffer.from('x'),
      qos: 2,
      retain: true,
      contentType: 'text/plain',
      userProperties: { a: 'b' },
    })
    const result = await publishJob(
      withProps,
      async (topic, payload, options) => {
        calls.push([topic, payload.toString(), options])
        return { messageId: 1, reasonCode: 0 }
      },
      noLoop,
      'r',
    )
    expect(result.error).toBeUndefined()
    expect(calls).toEqual([
      ['out/d1', 'x', { qos: 2, retain: true, properties: { contentType: 'text/plain', userProperties: { a: 'b' } } }],
    ])
  })

  it('is retried when the broker is away or the ack never came, and dead-lettered when the broker refuses', async () => {
    const failWith = (err: HookbridgeError) => publishJob(request, () => Promise.reject(err), noLoop, 'r')
    const away = await failWith(new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail: 'down' }))
    expect([away.error?.code, away.error?.retryable]).toEqual(['HOOKBRIDGE_REPUBLISH_UNAVAILABLE', true])
    const unconfirmed = await failWith(new HookbridgeError('HOOKBRIDGE_PUBLISH_UNCONFIRMED', { detail: 'no ack' }))
    expect([unconfirmed.error?.code, unconfirmed.error?.retryable]).toEqual(['HOOKBRIDGE_REPUBLISH_UNAVAILABLE', true])
    const refused = await failWith(
      new HookbridgeError('HOOKBRIDGE_PUBLISH_REJECTED', {
        topic: 'out/d1',
        reasonCode: 0x87,
        reason: 'Not authorized',
      }),
    )
    expect([refused.error?.code, refused.error?.retryable]).toEqual(['HOOKBRIDGE_REPUBLISH_REJECTED', false])
    expect(refused.error?.message).toContain('135 (Not authorized)')
    const v311 = await failWith(new HookbridgeError('HOOKBRIDGE_PROPERTIES_UNSUPPORTED', { names: 'contentType' }))
    expect([v311.error?.code, v311.error?.retryable]).toEqual(['HOOKBRIDGE_PROPERTIES_UNSUPPORTED', false])
    const none = await publishJob(request, undefined, noLoop, 'r')
    expect([none.error?.code, none.error?.retryable]).toEqual(['HOOKBRIDGE_REPUBLISH_UNAVAILABLE', true])
  })

  it('is dead-lettered, not published, when its topic loops back into the rule', async () => {
    let published = false
    const result = await publishJob(
      request,
      async () => {
        published = true
        return {}
      },
      (topic) => (topic === 'out/d1' ? 'out/+' : undefined),
      'r',
    )
    expect(published).toBe(false)
    expect([result.error?.code, result.error?.retryable]).toEqual(['HOOKBRIDGE_REPUBLISH_LOOP', false])
  })
})
