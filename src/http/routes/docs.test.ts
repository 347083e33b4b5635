import { describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'

describe('API description', () => {
  it('GET /openapi.json describes every endpoint from the validating schemas', async () => {
    const { app } = testApp()
    const res = await app.request('/openapi.json')
    expect(res.status).toBe(200)
    const doc = await res.json()
    expect(doc.openapi).toBe('3.0.3')
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/healthz',
        '/readyz',
        '/v1/publish',
        '/v1/publish/batch',
        '/v1/publish/{topic}',
        '/v1/subscribe',
        '/v1/dlq',
        '/v1/dlq/{id}',
        '/v1/dlq/replay',
        '/v1/dlq/{id}/replay',
        '/v1/dlq/purge',
        '/v1/rules',
        '/v1/rules/{name}/dry-run',
        '/v1/rules/reload',
        '/v1/hooks/{name}',
        '/v1/request/{topic}',
      ].sort(),
    )
    const raw = doc.paths['/v1/publish/{topic}'].post
    const names = raw.parameters.map((p: { name: string }) => p.name)
    expect(names).toEqual(
      expect.arrayContaining(['topic', 'qos', 'retain', 'userProperty', 'mqtt-qos', 'idempotency-key']),
    )
    expect(Object.keys(raw.responses)).toEqual(
      expect.arrayContaining(['200', '202', '401', '403', '413', '503', '504']),
    )
    expect(doc.components.schemas.PublishRequest.properties.encoding.enum).toEqual(['utf8', 'base64', 'json'])
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  it('GET /docs is a self-contained page: no scripts, no external styles', async () => {
    const { app } = testApp()
    const res = await app.request('/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/html')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'")
    const html = await res.text()
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i)
    expect(html).not.toMatch(/https?:\/\//)
    for (const path of ['/v1/publish/{topic}', '/v1/publish/batch', '/v1/subscribe', '/readyz']) {
      expect(html).toContain(`<code>${path}</code>`)
    }
    expect(html).toContain('id="schema-PublishRequest"')
  })
})
