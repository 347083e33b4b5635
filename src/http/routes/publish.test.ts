import { describe, expect, it } from 'vitest'
import { chunkedBody, testApp } from '../../../test/http/fakes.js'
import { HookbridgeError } from '../../errors.js'

const binary = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x0a, 0x0d, 0xc3])

describe('POST /v1/publish/{topic}', () => {
  it('publishes the body bytes unchanged with QoS 1 by default and answers 200 after the ack', async () => {
    const { app, publisher } = testApp()
    const res = await app.request('/v1/publish/sensors/kitchen/temp', { method: 'POST', body: binary })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      topic: 'sensors/kitchen/temp',
      qos: 1,
      retain: false,
      messageId: 1,
      reasonCode: 0,
    })
    expect(publisher.calls).toHaveLength(1)
    expect(publisher.calls[0].payload.equals(binary)).toBe(true)
    expect(publisher.calls[0].options).toMatchObject({ qos: 1, retain: false })
  })

  it('answers 202 for QoS 0', async () => {
    const { app } = testApp()
    const res = await app.request('/v1/publish/a?qos=0', { method: 'POST', body: 'x' })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ topic: 'a', qos: 0, retain: false })
  })

  it('takes qos, retain and MQTT 5 properties from the query or from MQTT-* headers', async () => {
    const { app, publisher } = testApp()
    const query =
      'qos=2&retain=true&responseTopic=replies/1&correlationData=abc&messageExpirySeconds=60&userProperty=a=1&userProperty=a=2'
    const res = await app.request(`/v1/publish/t?${query}`, {
      method: 'POST',
      body: '{"x":1}',
      headers: { 'content-type': 'application/json', 'mqtt-user-property': 'b=x%2Cy, c%3D=%25' },
    })
    expect(res.status).toBe(200)
    const { options } = publisher.calls[0]
    expect(options.qos).toBe(2)
    expect(options.retain).toBe(true)
    expect(options.properties).toEqual({
      responseTopic: 'replies/1',
      correlationData: Buffer.from('abc'),
      messageExpiryInterval: 60,
      contentType: 'application/json',
      userProperties: { a: ['1', '2'], b: 'x,y', 'c=': '%' },
    })

    const viaHeaders = await app.request('/v1/publish/t', {
      method: 'POST',
      body: 'x',
      headers: { 'mqtt-qos': '0', 'mqtt-retain': '1', 'mqtt-message-expiry-seconds': '5' },
    })
    expect(viaHeaders.status).toBe(202)
    expect(publisher.calls[1].options).toMatchObject({ qos: 0, retain: true, properties: { messageExpiryInterval: 5 } })
  })

  it('refuses an option given differently in the query and a header', async () => {
    const { app, publisher } = testApp()
    const res = await app.request('/v1/publish/t?qos=1', { method: 'POST', body: 'x', headers: { 'mqtt-qos': '2' } })
    expect(res.status).toBe(400)
    expect((await res.json()).error.code).toBe('HOOKBRIDGE_REQUEST_INVALID')
    expect(publisher.calls).toHaveLength(0)
  })

  it.each([
    ['qos=3', 'query.qos'],
    ['retain=maybe', 'query.retain'],
    ['messageExpirySeconds=-1', 'query.messageExpirySeconds'],
    ['colour=red', 'query'],
  ])('refuses ?%s with HOOKBRIDGE_REQUEST_INVALID naming %s', async (query, where) => {
    const { app, publisher } = testApp()
    const res = await app.request(`/v1/publish/t?${query}`, { method: 'POST', body: 'x' })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.error.code).toBe('HOOKBRIDGE_REQUEST_INVALID')
    expect(body.error.message).toContain(where)
    expect(publisher.calls).toHaveLength(0)
  })

  it.each([
    [{ 'mqtt-qos': '3' }, 'header.mqtt-qos'],
    [{ 'mqtt-retain': 'maybe' }, 'header.mqtt-retain'],
    [{ 'mqtt-message-expiry-seconds': 'soon' }, 'header.mqtt-message-expiry-seconds'],
  ])('refuses the MQTT-* header %o with HOOKBRIDGE_REQUEST_INVALID naming %s', async (headers, where) => {
    const { app, publisher } = testApp()
    const res = await app.request('/v1/publish/t', { method: 'POST', body: 'x', headers })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.error.code).toBe('HOOKBRIDGE_REQUEST_INVALID')
    expect(body.error.message).toContain(where)
    expect(publisher.calls).toHaveLength(0)
  })

  it('reports a bad query before a bad header, and every problem of the query at once', async () => {
    const { app } = testApp()
    const res = await app.request('/v1/publish/t?qos=5&colour=red', {
      method: 'POST',
      body: 'x',
      headers: { 'mqtt-retain': 'maybe' },
    })
    expect(res.status).toBe(400)
    const { message } = (await res.json()).error
    expect(message).toContain('query.qos')
    expect(message).toContain('colour')
    expect(message).not.toContain('header')
  })

  it('answers an invalid option with the same 400 on a repeat with the same Idempotency-Key', async () => {
    const { app, publisher } = testApp()
    const send = () =>
      app.request('/v1/publish/t?qos=3', { method: 'POST', body: 'x', headers: { 'idempotency-key': 'k-1' } })
    const first = await send()
    const again = await send()
    expect([first.status, again.status]).toEqual([400, 400])
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.json()).toEqual(await first.json())
    expect(publisher.calls).toHaveLength(0)
  })

  it.each([
    ['a single-level wildcard', '/v1/publish/a/+/b'],
    ['a multi-level wildcard', '/v1/publish/a/%23'],
    ['NUL', '/v1/publish/a%00b'],
    ['an empty topic', '/v1/publish/'],
    ['a $-topic', '/v1/publish/$SYS/x'],
    ['bad percent-encoding', '/v1/publish/a%FF'],
    ['an over-long topic', `/v1/publish/${'x'.repeat(65_536)}`],
  ])('answers 400 HOOKBRIDGE_TOPIC_INVALID for %s, publishing nothing', async (_what, path) => {
    const { app, publisher } = testApp()
    const res = await app.request(path, { method: 'POST', body: 'x' })
    expect(res.status).toBe(400)
    expect((await res.json()).error.code).toBe('HOOKBRIDGE_TOPIC_INVALID')
    expect(publisher.calls).toHaveLength(0)
  })

  it('allows $-topics when api.allowDollarTopics is set', async () => {
    const { app } = testApp({ allowDollarTopics: true })
    expect((await app.request('/v1/publish/$app/x', { method: 'POST', body: 'x' })).status).toBe(200)
  })

  it('keeps empty levels and percent-encoded characters of the topic', async () => {
    const { app, publisher } = testApp()
    await app.request('/v1/publish/a//b%2Fc/caf%C3%A9%20%3F/', { method: 'POST', body: '' })
    expect(publisher.calls[0].topic).toBe('a//b/c/café ?/')
    expect(publisher.calls[0].payload.length).toBe(0)
  })

  it('refuses MQTT 5 properties on an MQTT 3.1.1 connection, but not a plain Content-Type', async () => {
    const { app, publisher } = testApp({}, { protocolVersion: 4 })
    const refused = await app.request('/v1/publish/t?responseTopic=r', { method: 'POST', body: 'x' })
    expect(refused.status).toBe(400)
    expect((await refused.json()).error.code).toBe('HOOKBRIDGE_PROPERTIES_UNSUPPORTED')
    const plain = await app.request('/v1/publish/t', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    })
    expect(plain.status).toBe(200)
    expect(publisher.calls[0].options.properties).toBeUndefined()
  })
})

describe('POST /v1/publish (JSON)', () => {
  const post = (app: ReturnType<typeof testApp>['app'], body: unknown) =>
    app.request('/v1/publish', {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    })

  it.each([
    [{ payload: 'héllo' }, Buffer.from('héllo')],
    [{ payload: binary.toString('base64'), encoding: 'base64' }, binary],
    [{ payload: { a: [1, null] } }, Buffer.from('{"a":[1,null]}')],
    [{ payload: 'text', encoding: 'json' }, Buffer.from('"text"')],
  ])('turns %j into the right bytes', async (item, bytes) => {
    const { app, publisher } = testApp()
    const res = await post(app, { topic: 't', ...item })
    expect(res.status).toBe(200)
    expect(publisher.calls[0].payload.equals(bytes)).toBe(true)
  })

  it('passes properties, qos and retain', async () => {
    const { app, publisher } = testApp()
    const properties = { contentType: 'text/plain', userProperties: { k: 'v' }, payloadFormatIndicator: true }
    const res = await post(app, { topic: 't', payload: 'x', qos: 0, retain: true, properties })
    expect(res.status).toBe(202)
    expect(publisher.calls[0].options).toEqual({ qos: 0, retain: true, properties })
  })

  it.each([
    [{ topic: 't' }, 'payload'],
    [{ topic: 't', payload: 'not base64!', encoding: 'base64' }, 'base64'],
    [{ topic: 't', payload: 1, encoding: 'utf8' }, 'string'],
    [{ topic: 't', payload: 'x', qos: 5 }, 'body.qos'],
    [{ topic: 't', payload: 'x', extra: 1 }, 'extra'],
    [{ topic: 't', payload: 'x', properties: { responseTopic: 'a/#' } }, 'responseTopic'],
  ])('refuses %j with 400 (%s)', async (body, mentions) => {
    const { app, publisher } = testApp()
    const res = await post(app, body)
    expect(res.status).toBe(400)
    const { error } = await res.json()
    expect(error.code).toBe('HOOKBRIDGE_REQUEST_INVALID')
    expect(error.message).toContain(mentions)
    expect(publisher.calls).toHaveLength(0)
  })

  it('answers 400 for a topic with a wildcard and for malformed JSON, 415 for another content type', async () => {
    const { app } = testApp()
    expect((await (await post(app, { topic: 'a/+', payload: 'x' })).json()).error.code).toBe('HOOKBRIDGE_TOPIC_INVALID')
    const malformed = await app.request('/v1/publish', {
      method: 'POST',
      body: '{',
      headers: { 'content-type': 'application/json' },
    })
    expect(malformed.status).toBe(400)
    const text = await app.request('/v1/publish', {
      method: 'POST',
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    })
    expect(text.status).toBe(415)
    expect((await text.json()).error.code).toBe('HOOKBRIDGE_UNSUPPORTED_MEDIA_TYPE')
  })
})

describe('POST /v1/publish/batch', () => {
  const batch = (app: ReturnType<typeof testApp>['app'], items: unknown[]) =>
    app.request('/v1/publish/batch', {
      method: 'POST',
      body: JSON.stringify(items),
      headers: { 'content-type': 'application/json' },
    })

  it('answers every item on its own: 207 when some failed', async () => {
    const { app, publisher } = testApp()
    publisher.answer = async (call, index) => {
      if (call.topic === 'denied')
        throw new HookbridgeError('HOOKBRIDGE_PUBLISH_REJECTED', {
          topic: 'denied',
          reasonCode: 135,
          reason: 'Not authorized',
        })
      return call.options.qos === 0 ? {} : { messageId: index + 1 }
    }
    const res = await batch(app, [
      { topic: 'a', payload: '1' },
      { topic: 'b/#', payload: '2' },
      { topic: 'denied', payload: '3' },
      { topic: 'c', payload: '4', qos: 0 },
    ])
    expect(res.status).toBe(207)
    const { results } = await res.json()
    expect(results.map((r: { status: number }) => r.status)).toEqual([200, 400, 502, 202])
    expect(results[0].result).toEqual({ topic: 'a', qos: 1, retain: false, messageId: 1 })
    expect(results[1].error.code).toBe('HOOKBRIDGE_TOPIC_INVALID')
    expect(results[2].error).toMatchObject({ code: 'HOOKBRIDGE_PUBLISH_REJECTED', reasonCode: 135 })
    expect(publisher.calls.map((c) => c.topic)).toEqual(['a', 'denied', 'c'])
  })

  it('answers 200 when every item was published, and refuses more than api.maxBatchItems', async () => {
    const { app } = testApp({ maxBatchItems: 2 })
    expect((await batch(app, [{ topic: 'a', payload: '1' }])).status).toBe(200)
    const tooMany = await batch(
      app,
      [1, 2, 3].map((i) => ({ topic: 'a', payload: String(i) })),
    )
    expect(tooMany.status).toBe(400)
    expect((await tooMany.json()).error.message).toContain('api.maxBatchItems')
    expect((await batch(app, [])).status).toBe(400)
  })
})

describe('publish outcomes', () => {
  it.each([
    [new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail: 'not connected', retryAfterSeconds: 2 }), 503, '2'],
    [new HookbridgeError('HOOKBRIDGE_PUBLISH_UNCONFIRMED', { topic: 't', detail: 'no ack' }), 504, null],
    [
      new HookbridgeError('HOOKBRIDGE_PUBLISH_REJECTED', { topic: 't', reasonCode: 151, reason: 'Quota exceeded' }),
      502,
      null,
    ],
  ])('maps %s to its status', async (err, status, retryAfter) => {
    const { app, publisher } = testApp()
    publisher.answer = async () => {
      throw err
    }
    const res = await app.request('/v1/publish/t', { method: 'POST', body: 'x' })
    expect(res.status).toBe(status)
    expect(res.headers.get('retry-after')).toBe(retryAfter)
    expect(await res.json()).toEqual({
      error: { code: err.code, message: err.message, ...(status === 502 ? { reasonCode: 151 } : {}) },
    })
  })

  it('answers 500 HOOKBRIDGE_INTERNAL for an unexpected failure, without its message', async () => {
    const { app, publisher } = testApp()
    publisher.answer = async () => {
      throw new Error('secret internals')
    }
    const res = await app.request('/v1/publish/t', { method: 'POST', body: 'x' })
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(body.error.code).toBe('HOOKBRIDGE_INTERNAL')
    expect(body.error.message).not.toContain('secret')
  })

  it('publishes nothing for a chunked body over the limit', async () => {
    const { app, publisher } = testApp({ maxBodyBytes: 10 })
    const res = await app.request('/v1/publish/t', {
      method: 'POST',
      ...chunkedBody([Buffer.alloc(6), Buffer.alloc(6)]),
    })
    expect(res.status).toBe(413)
    expect(publisher.calls).toHaveLength(0)
  })
})
