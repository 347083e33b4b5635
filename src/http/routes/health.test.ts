import { describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'

describe('health', () => {
  it('GET /healthz answers 200 with the version', async () => {
    const { app } = testApp()
    const res = await app.request('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok', version: '0.0.0-test' })
  })

  it('GET /readyz answers 200 when ready and 503 with the reason otherwise', async () => {
    const { app, setReadiness } = testApp()
    expect((await app.request('/readyz')).status).toBe(200)
    const checks = { broker: { ok: false, detail: 'disconnected' }, rules: { ok: true } }
    setReadiness({ ready: false, checks })
    const res = await app.request('/readyz')
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      error: { code: 'HOOKBRIDGE_NOT_READY', message: 'Not ready: broker: disconnected' },
      ready: false,
      checks,
    })
  })
})
