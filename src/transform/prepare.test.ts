import { describe, expect, it } from 'vitest'
import { compileRule } from '../rules/compile.js'
import { ruleSchema } from '../rules/schema.js'
import type { SourceMessage } from '../spool/spool.js'
import { decodePayload } from './envelope.js'
import { prepareDeliveries } from './prepare.js'

function rule(definition: unknown) {
  const issues: { path: (string | number)[]; message: string }[] = []
  const compiled = compileRule(ruleSchema.parse(definition), 'r', 'r.yaml', { env: {} }, issues)
  expect(issues).toEqual([])
  return compiled!
}

function message(payload: string | Buffer, extra: Partial<SourceMessage> = {}): SourceMessage {
  return {
    topic: 'dev/d1/t',
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
    receivedAt: 1_700_000_000_000,
    ...extra,
  }
}

async function prepare(definition: unknown, msg: SourceMessage, params: Record<string, string> = { id: 'd1' }) {
  return prepareDeliveries(rule(definition), params, msg, decodePayload(msg.payload), 'm1')
}

describe('preparing deliveries', () => {
  it('sends the payload bytes unchanged with a content type when there is no transform', async () => {
    const json = await prepare({ from: { topic: 'dev/+id/t' }, to: { url: 'http://h/x' } }, message('{"a":1}'))
    expect(json.kind).toBe('jobs')
    if (json.kind !== 'jobs') return
    expect(json.jobs[0]!.request.headers['content-type']).toBe('application/json')
    expect(json.jobs[0]!.request.body.toString()).toBe('{"a":1}')
    expect(json.jobs[0]!.id).toBe('m1:r:0')

    const text = await prepare({ from: { topic: 'dev/+id/t' }, to: { url: 'http://h/x' } }, message('hi'))
    expect(text.kind === 'jobs' && text.jobs[0]!.request.headers['content-type']).toBe('application/octet-stream')

    const declared = await prepare(
      { from: { topic: 'dev/+id/t' }, to: { url: 'http://h/x' } },
      message('hi', { properties: { contentType: 'text/csv' } }),
    )
    expect(declared.kind === 'jobs' && declared.jobs[0]!.request.headers['content-type']).toBe('text/csv')
  })

  it('skips a message when `when` is false or the transform yields nothing', async () => {
    expect(
      await prepare({ from: { topic: 'x' }, when: 'payload.n > 1', to: { url: 'http://h/x' } }, message('{"n":1}')),
    ).toEqual({
      kind: 'skipped',
      reason: 'when',
    })
    expect(
      await prepare({ from: { topic: 'x' }, transform: 'payload.missing', to: { url: 'http://h/x' } }, message('{}')),
    ).toEqual({
      kind: 'skipped',
      reason: 'empty-transform',
    })
  })

  it('computes the URL and headers, and the transform result is available to them', async () => {
    const out = await prepare(
      {
        from: { topic: 'dev/+id/t' },
        transform: '{ "level": payload.n > 5 ? "high" : "low" }',
        to: { url: 'http://h/{params.id}?level={result.level}', method: 'put', headers: { 'x-id': '{params.id}' } },
      },
      message('{"n":9}'),
    )
    expect(out.kind).toBe('jobs')
    if (out.kind !== 'jobs') return
    expect(out.jobs[0]!.request).toMatchObject({
      method: 'PUT',
      url: 'http://h/d1?level=high',
      headers: { 'x-id': 'd1' },
    })
  })

  it('fails (for the dead letters) when a computed host is not allowed, or JSONata throws', async () => {
    const host = await prepare(
      { from: { topic: 'dev/+id/t' }, to: { url: 'http://{params.id}/x', allowedHosts: ['good'] } },
      message('{}'),
    )
    expect(host.kind === 'failed' && host.error.code).toBe('HOOKBRIDGE_HOST_NOT_ALLOWED')
    const thrown = await prepare(
      { from: { topic: 'x' }, transform: '$error("boom")', to: { url: 'http://h/x' } },
      message('{}'),
    )
    expect(thrown.kind).toBe('failed')
    if (thrown.kind !== 'failed') return
    expect(thrown.error.code).toBe('HOOKBRIDGE_TRANSFORM_FAILED')
    expect(thrown.error.message).toMatch(/boom/)
    expect(thrown.jobs[0]!.message.payload.toString()).toBe('{}')
  })

  it('sends no body with GET', async () => {
    const out = await prepare({ from: { topic: 'x' }, to: { url: 'http://h/x', method: 'GET' } }, message('{"a":1}'))
    expect(out.kind === 'jobs' && out.jobs[0]!.request.body.length).toBe(0)
  })
})

describe('trace context', () => {
  it('carries a W3C traceparent from the MQTT 5 user properties to the webhook headers', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const out = await prepare(
      { from: { topic: 'x' }, to: { url: 'http://h/x' } },
      message('{}', { properties: { userProperties: { traceparent, tracestate: 'vendor=1', other: 'y' } } }),
    )
    expect(out.kind === 'jobs' && out.jobs[0]!.request.headers).toMatchObject({ traceparent, tracestate: 'vendor=1' })
    expect(out.kind === 'jobs' && out.jobs[0]!.request.headers.other).toBeUndefined()
  })
})

describe('templates after a transform', () => {
  it('evaluate real JSONata expressions over the envelope and the result', async () => {
    const out = await prepare(
      {
        from: { topic: 'dev/+id/t' },
        transform: '{ "level": "high" }',
        to: { url: 'http://h/{params.id & "-" & result.level}', headers: { 'x-topic': '{$uppercase(topic)}' } },
      },
      message('{}'),
    )
    expect(out.kind === 'jobs' && out.jobs[0]!.request).toMatchObject({
      url: 'http://h/d1-high',
      headers: { 'x-topic': 'DEV/D1/T' },
    })
  })
})

describe('computed method', () => {
  it('computes the HTTP method per message, and fails clearly on a method that is not one', async () => {
    const rule = {
      from: { topic: 'x' },
      to: { url: 'http://h/x', method: '{payload.deleted ? "delete" : "put"}' },
    }
    const del = await prepare(rule, message('{"deleted":true}'))
    expect(del.kind === 'jobs' && del.jobs[0]!.request.method).toBe('DELETE')
    expect(del.kind === 'jobs' && del.jobs[0]!.request.body.length).toBe(0)
    const put = await prepare(rule, message('{"deleted":false}'))
    expect(put.kind === 'jobs' && put.jobs[0]!.request.method).toBe('PUT')
    const bad = await prepare(
      { from: { topic: 'x' }, to: { url: 'http://h/x', method: '{payload.m}' } },
      message('{"m":"TRACE"}'),
    )
    expect(bad.kind === 'failed' && bad.error.message).toMatch(
      /to\.method.*"TRACE" is not one of GET, POST, PUT, PATCH, DELETE/,
    )
  })
})
