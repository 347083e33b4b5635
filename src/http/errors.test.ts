import { describe, expect, it } from 'vitest'
import { testApp } from '../../test/http/fakes.js'
import { apiConfigSchema } from '../config/api-schema.js'
import { silentLogger } from '../observability/logger.js'
import { createRuleSet } from '../rules/rule-set.js'
import { createMemorySpool } from '../spool/memory-spool.js'
import { createApp } from './app.js'

describe('error answers', () => {
  it('answers an unknown route and a wrong method with 404 in the error shape', async () => {
    const { app } = testApp()
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/v1/publish/t'],
      ['DELETE', '/v1/publish'],
    ]) {
      const res = await app.request(path, { method })
      expect(res.status).toBe(404)
      expect(await res.json()).toEqual({
        error: { code: 'HOOKBRIDGE_NOT_FOUND', message: expect.stringContaining(`${method} ${path}`) },
      })
    }
  })

  it('refuses to build an app that would listen beyond loopback without tokens', () => {
    const deps = { publisher: { publish: async () => ({}) }, live: { subscribe: async () => async () => {} } }
    const build = (host: string) =>
      createApp({
        ...deps,
        config: apiConfigSchema.parse({ host }),
        readiness: () => ({ ready: true, checks: {} }),
        logger: silentLogger(),
        version: 'x',
        protocolVersion: 5,
        rules: () => createRuleSet([]),
        spool: createMemorySpool(),
        notifyDelivery: () => {},
      })
    expect(() => build('0.0.0.0')).toThrow(expect.objectContaining({ code: 'HOOKBRIDGE_HTTP_UNSAFE_BINDING' }))
    expect(() => build('::1')).not.toThrow()
    expect(() => build('192.168.1.2')).toThrow(/192\.168\.1\.2/)
  })
})
