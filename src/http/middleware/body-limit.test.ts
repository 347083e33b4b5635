import { describe, expect, it } from 'vitest'
import { chunkedBody, testApp } from '../../../test/http/fakes.js'

describe('body limit', () => {
  const limit = 1024

  it('accepts a body of exactly the limit', async () => {
    const { app, publisher } = testApp({ maxBodyBytes: limit })
    const res = await app.request('/v1/publish/t', { method: 'POST', body: Buffer.alloc(limit, 1) })
    expect(res.status).toBe(200)
    expect(publisher.calls[0].payload.length).toBe(limit)
  })

  it('answers 413 from Content-Length alone, before reading', async () => {
    const { app, publisher } = testApp({ maxBodyBytes: limit })
    const res = await app.request('/v1/publish/t', { method: 'POST', body: Buffer.alloc(limit + 1) })
    expect(res.status).toBe(413)
    expect(res.headers.get('connection')).toBe('close')
    expect(await res.json()).toEqual({
      error: { code: 'HOOKBRIDGE_BODY_TOO_LARGE', message: expect.stringContaining(`${limit} bytes`) },
    })
    expect(publisher.calls).toHaveLength(0)
  })

  it('answers 413 for a chunked body without Content-Length', async () => {
    const { app, publisher } = testApp({ maxBodyBytes: limit })
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(200))
    const res = await app.request('/v1/publish/t', { method: 'POST', ...chunkedBody(chunks) })
    expect(res.status).toBe(413)
    expect(publisher.calls).toHaveLength(0)
  })

  it('answers 413 for a body larger than its Content-Length says', async () => {
    const { app, publisher } = testApp({ maxBodyBytes: limit })
    const res = await app.request('/v1/publish/t', {
      method: 'POST',
      headers: { 'content-length': '10' },
      ...chunkedBody([Buffer.alloc(600), Buffer.alloc(600)]),
    })
    expect(res.status).toBe(413)
    expect(publisher.calls).toHaveLength(0)
  })

  it('answers 400 for a body that does not match its Content-Length within the limit', async () => {
    const { app, publisher } = testApp({ maxBodyBytes: limit })
    const res = await app.request('/v1/publish/t', {
      method: 'POST',
      headers: { 'content-length': '10' },
      ...chunkedBody([Buffer.alloc(20)]),
    })
    expect(res.status).toBe(400)
    expect(publisher.calls).toHaveLength(0)
  })

  it('applies to JSON publishes too', async () => {
    const { app, publisher } = testApp({ maxBodyBytes: limit })
    const body = JSON.stringify({ topic: 't', payload: 'x'.repeat(limit) })
    const res = await app.request('/v1/publish', {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    })
    expect(res.status).toBe(413)
    expect(publisher.calls).toHaveLength(0)
  })
})
