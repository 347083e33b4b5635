import { HTTP } from 'cloudevents'
import { describe, expect, it } from 'vitest'
import { type CompileIssue, compileRule } from '../rules/compile.js'
import { ruleSchema } from '../rules/schema.js'
import type { OutgoingRequest, SourceMessage } from '../spool/spool.js'
import { decodePayload } from './envelope.js'
import { prepareDeliveries } from './prepare.js'

const receivedAt = Date.UTC(2024, 0, 2, 3, 4, 5, 678)

function message(payload: string | Buffer, topic = 'sensors/kitchen/temperature'): SourceMessage {
  return { topic, payload: Buffer.from(payload), qos: 1, retain: false, receivedAt }
}

async function request(to: unknown, msg: SourceMessage, transform?: string): Promise<OutgoingRequest> {
  const issues: CompileIssue[] = []
  const definition = ruleSchema.parse({ from: { topic: 'sensors/+device/#rest' }, transform, to })
  const rule = compileRule(definition, 'hot-readings', 'r.yaml', { env: {} }, issues)
  expect(issues).toEqual([])
  const params = { device: msg.topic.split('/')[1]!, rest: 'temperature' }
  const prepared = await prepareDeliveries(rule!, params, msg, decodePayload(msg.payload), 'm1')
  if (prepared.kind !== 'jobs') throw new Error(`expected jobs, got ${prepared.kind}`)
  return prepared.jobs[0]!.request
}

/** What a receiver sees: header names as given, the body as text. */
function toEvent(req: OutgoingRequest) {
  return HTTP.toEvent({ headers: req.headers, body: req.body.toString('utf8') })
}

describe('CloudEvents output', () => {
  it('binary mode: ce-* headers, the body unchanged', async () => {
    const req = await request(
      { url: 'http://h/x', cloudEvents: { mode: 'binary' } },
      message('{"celsius":31.5}'),
      undefined,
    )
    expect(req.body.toString()).toBe('{"celsius":31.5}')
    const event = toEvent(req)
    if (Array.isArray(event)) throw new Error('expected one event')
    expect(event.specversion).toBe('1.0')
    expect(event.id).toBe('m1:hot-readings:0')
    expect(event.source).toBe('/hookbridge/hot-readings')
    expect(event.type).toBe('hookbridge.message')
    expect(event.subject).toBe('sensors/kitchen/temperature')
    expect(event.time).toBe('2024-01-02T03:04:05.678Z')
    expect(event.datacontenttype).toBe('application/json')
    expect(event.data).toEqual({ celsius: 31.5 })
    expect(req.headers['x-hookbridge-delivery-id']).toBe('m1:hot-readings:0')
  })

  it('structured mode: a JSON envelope with `data` for a JSON body, templates for type and source', async () => {
    const req = await request(
      {
        url: 'http://h/x',
        cloudEvents: { mode: 'structured', type: 'com.example.{params.rest}', source: '/devices/{params.device}' },
      },
      message('{"celsius":31.5}'),
      '{ "c": payload.celsius }',
    )
    expect(req.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8')
    const event = toEvent(req)
    if (Array.isArray(event)) throw new Error('expected one event')
    expect(event.type).toBe('com.example.temperature')
    expect(event.source).toBe('/devices/kitchen')
    expect(event.id).toBe('m1:hot-readings:0')
    expect(event.time).toBe('2024-01-02T03:04:05.678Z')
    expect(event.datacontenttype).toBe('application/json')
    expect(event.data).toEqual({ c: 31.5 })
  })

  it('structured mode: `data_base64` for a body that is not JSON', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255])
    const req = await request({ url: 'http://h/x', cloudEvents: { mode: 'structured' } }, message(bytes))
    const envelope = JSON.parse(req.body.toString())
    expect(envelope.data_base64).toBe(bytes.toString('base64'))
    expect(envelope.data).toBeUndefined()
    expect(envelope.datacontenttype).toBe('application/octet-stream')
    const event = toEvent(req)
    if (Array.isArray(event)) throw new Error('expected one event')
    expect(Buffer.from(event.data_base64 as string, 'base64').equals(bytes)).toBe(true)
  })

  it('percent-encodes a subject that is not ASCII in binary mode', async () => {
    const req = await request(
      { url: 'http://h/x', cloudEvents: { mode: 'binary' } },
      message('x', 'sensors/küche/temperature'),
    )
    expect(req.headers['ce-subject']).toBe('sensors/k%C3%BCche/temperature')
  })

  it('are refused at load in structured mode for a method without a body', () => {
    const issues: CompileIssue[] = []
    const definition = ruleSchema.parse({
      from: { topic: 'a' },
      to: { url: 'http://h/x', method: 'GET', cloudEvents: { mode: 'structured' } },
    })
    compileRule(definition, 'r', 'r.yaml', { env: {} }, issues)
    expect(issues).toEqual([{ path: ['to', 'cloudEvents', 'mode'], message: expect.stringMatching(/need a body/) }])
  })
})
