import { describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'
import { HookbridgeError } from '../../errors.js'

type App = ReturnType<typeof testApp>['app']
const publish = (app: App, key: string, body = 'x', extra: Record<string, string> = {}) =>
  app.request('/v1/publish/t', { method: 'POST', body, headers: { 'idempotency-key': key, ...extra } })

describe('Idempotency-Key', () => {
  it('answers a repeat with the first answer and publishes once', async () => {
    const { app, publisher } = testApp()
    const first = await publish(app, 'k1')
    const again = await publish(app, 'k1')
    expect(again.status).toBe(first.status)
    expect(await again.json()).toEqual(await first.json())
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    expect(publisher.calls).toHaveLength(1)
  })

  it('gives a repeat that arrives while the first is in flight the same answer', async () => {
    const { app, publisher } = testApp()
    let release!: () => void
    publisher.answer = () => new Promise((resolve) => (release = () => resolve({ messageId: 7 })))
    const first = publish(app, 'k')
    const second = publish(app, 'k')
    await expect.poll(() => publisher.calls.length).toBe(1)
    release()
    const [a, b] = await Promise.all([first, second])
    expect(await b.json()).toEqual(await a.json())
    expect(publisher.calls).toHaveLength(1)
  })

  it('answers 422 when the key is reused for a different request', async () => {
    const { app, publisher } = testApp()
    await publish(app, 'k', 'one')
    const res = await publish(app, 'k', 'two')
    expect(res.status).toBe(422)
    expect((await res.json()).error.code).toBe('HOOKBRIDGE_IDEMPOTENCY_KEY_REUSED')
    expect(publisher.calls).toHaveLength(1)
  })

  it('keeps no answer that means "retry" (503, 504), so the retry publishes', async () => {
    const { app, publisher } = testApp()
    publisher.answer = async () => {
      throw new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail: 'down', retryAfterSeconds: 1 })
    }
    expect((await publish(app, 'k')).status).toBe(503)
    publisher.answer = async () => ({ messageId: 1 })
    expect((await publish(app, 'k')).status).toBe(200)
    expect((await publish(app, 'k')).headers.get('idempotent-replayed')).toBe('true')
    expect(publisher.calls).toHaveLength(2)
  })

  it('forgets keys after the window and beyond idempotencyMaxKeys (oldest first)', async () => {
    const { app, publisher } = testApp({ idempotencyMaxKeys: 2 })
    await publish(app, 'a')
    await publish(app, 'b')
    await publish(app, 'c') // forgets 'a'
    await publish(app, 'a')
    expect(publisher.calls).toHaveLength(4)
    await publish(app, 'c')
    expect(publisher.calls).toHaveLength(4)

    const short = testApp({ idempotencyWindowMs: 1 })
    await publish(short.app, 'k')
    await new Promise((resolve) => setTimeout(resolve, 5))
    await publish(short.app, 'k')
    expect(short.publisher.calls).toHaveLength(2)
  })

  it('keeps keys per token', async () => {
    const tokens = [
      { name: 'a', token: 'token-a-0123456789', publish: ['#'] },
      { name: 'b', token: 'token-b-0123456789', publish: ['#'] },
    ]
    const { app, publisher } = testApp({ tokens })
    await publish(app, 'k', 'x', { authorization: `Bearer ${tokens[0].token}` })
    const other = await publish(app, 'k', 'x', { authorization: `Bearer ${tokens[1].token}` })
    expect(other.headers.get('idempotent-replayed')).toBeNull()
    expect(publisher.calls).toHaveLength(2)
  })

  it('covers JSON and batch publishes, and refuses malformed keys', async () => {
    const { app, publisher } = testApp()
    const json = () =>
      app.request('/v1/publish/batch', {
        method: 'POST',
        body: JSON.stringify([{ topic: 't', payload: 1 }]),
        headers: { 'content-type': 'application/json', 'idempotency-key': 'batch-1' },
      })
    await json()
    await json()
    expect(publisher.calls).toHaveLength(1)
    expect((await publish(app, 'x'.repeat(256))).status).toBe(400)
    expect((await publish(app, 'has space')).status).toBe(400)
  })
})
