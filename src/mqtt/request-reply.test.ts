import { afterEach, describe, expect, it, vi } from 'vitest'
import { fakePublisher } from '../../test/http/fakes.js'
import { HookbridgeError } from '../errors.js'
import type { SourceMessage } from '../spool/spool.js'
import { createRequester, type Requester, replyTopicBase } from './request-reply.js'

function setup(options: { refuse?: boolean; connected?: boolean } = {}) {
  const publisher = fakePublisher()
  const acquired: string[] = []
  const released: string[] = []
  const refused = new Map<string, number>()
  const requester = createRequester({
    instanceId: 'node/1+#',
    publisher,
    isConnected: () => options.connected ?? true,
    subscriptions: {
      refused,
      async acquire(filter) {
        acquired.push(filter)
        if (options.refuse) refused.set(filter, 0x87)
      },
      async release(filter) {
        released.push(filter)
      },
    },
  })
  /** Answer the n-th request the way a responder does: to its response topic, with its correlation data. */
  const reply = (n: number, payload: string, extra: Partial<SourceMessage> = {}) => {
    const properties = publisher.calls[n]!.options.properties!
    requester.handle({
      topic: properties.responseTopic!,
      payload: Buffer.from(payload),
      qos: 1,
      retain: false,
      receivedAt: Date.now(),
      properties: { correlationData: Buffer.from(properties.correlationData!).toString('base64') },
      ...extra,
    })
  }
  return { publisher, requester, acquired, released, reply }
}

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 1))
}
const request = (requester: Requester, topic = 'svc/echo', timeoutMs = 5_000) =>
  requester.request(topic, Buffer.from('ping'), { qos: 1, properties: { contentType: 'text/plain' }, timeoutMs })

describe('request/response', () => {
  afterEach(() => vi.useRealTimers())

  it("publishes with this instance's response topic and correlation data, and resolves with the reply", async () => {
    const t = setup()
    const pending = request(t.requester)
    await until(() => t.publisher.calls.length === 1)
    const { topic, options } = t.publisher.calls[0]!
    expect(topic).toBe('svc/echo')
    expect(t.requester.replyFilter).toBe('hookbridge/replies/node_1__/#')
    expect(options.properties!.responseTopic).toMatch(/^hookbridge\/replies\/node_1__\/[\w-]{22}$/)
    expect(options.properties!.contentType).toBe('text/plain')
    expect(options.retain).toBe(false)
    t.reply(0, 'pong')
    const reply = await pending
    expect(reply.payload.toString()).toBe('pong')
    expect(t.requester.pending).toBe(0)
    expect(t.acquired).toEqual(['hookbridge/replies/node_1__/#'])
  })

  it('routes concurrent replies by correlation data, in any order, and subscribes once', async () => {
    const t = setup()
    const pending = [0, 1, 2].map(() => request(t.requester))
    await until(() => t.publisher.calls.length === 3)
    // Replies on one shared topic: only the correlation data tells them apart.
    for (const n of [2, 0, 1]) t.reply(n, `reply ${n}`, { topic: `${replyTopicBase('node/1+#')}/shared` })
    expect((await Promise.all(pending)).map((r) => r.payload.toString())).toEqual(['reply 0', 'reply 1', 'reply 2'])
    expect(t.acquired).toHaveLength(1)
  })

  it('finds the request by its response topic when the responder drops the correlation data', async () => {
    const t = setup()
    const pending = request(t.requester)
    await until(() => t.publisher.calls.length === 1)
    t.reply(0, 'no correlation', { properties: {} })
    expect((await pending).payload.toString()).toBe('no correlation')
  })

  it('ignores other topics, copies through other subscriptions, late and repeated replies', async () => {
    const t = setup()
    const pending = request(t.requester)
    await until(() => t.publisher.calls.length === 1)
    t.reply(0, 'first')
    t.reply(0, 'again')
    expect((await pending).payload.toString()).toBe('first')
    const next = request(t.requester)
    await until(() => t.publisher.calls.length === 2)
    const responseTopic = t.publisher.calls[1]!.options.properties!.responseTopic!
    const message = { topic: responseTopic, payload: Buffer.from('x'), qos: 1 as const, retain: false, receivedAt: 0 }
    t.requester.handle(message, new Set(['#']))
    t.requester.handle({ ...message, topic: 'elsewhere/x' })
    expect(t.requester.pending).toBe(1)
    t.requester.handle(message, new Set([t.requester.replyFilter]))
    expect((await next).payload.toString()).toBe('x')
  })

  it('times out with HOOKBRIDGE_REPLY_TIMEOUT and forgets the request', async () => {
    vi.useFakeTimers()
    const t = setup()
    const pending = request(t.requester, 'svc/slow', 250)
    const outcome = pending.catch((err: unknown) => err)
    await vi.advanceTimersByTimeAsync(250)
    expect(await outcome).toMatchObject({ code: 'HOOKBRIDGE_REPLY_TIMEOUT', status: 504 })
    expect(((await outcome) as Error).message).toMatch(/on "svc\/slow" came within 250 ms/)
    expect(t.requester.pending).toBe(0)
    t.reply(0, 'too late')
    expect(t.requester.pending).toBe(0)
  })

  it('passes a publish failure on and forgets the request', async () => {
    const t = setup()
    t.publisher.answer = async () => {
      throw new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail: 'x', retryAfterSeconds: 1 })
    }
    await expect(request(t.requester)).rejects.toMatchObject({ code: 'HOOKBRIDGE_BROKER_UNAVAILABLE' })
    expect(t.requester.pending).toBe(0)
  })

  it('refuses while disconnected, reports a refused reply subscription, and tries again later', async () => {
    const away = setup({ connected: false })
    await expect(request(away.requester)).rejects.toMatchObject({ code: 'HOOKBRIDGE_BROKER_UNAVAILABLE' })
    expect(away.publisher.calls).toEqual([])
    const refused = setup({ refuse: true })
    await expect(request(refused.requester)).rejects.toMatchObject({ code: 'HOOKBRIDGE_SUBSCRIBE_REJECTED' })
    await expect(request(refused.requester)).rejects.toMatchObject({ code: 'HOOKBRIDGE_SUBSCRIBE_REJECTED' })
    expect(refused.acquired).toHaveLength(2)
    expect(refused.released).toHaveLength(2)
  })

  it('ends the waiting requests on close', async () => {
    const t = setup()
    const pending = request(t.requester)
    await until(() => t.publisher.calls.length === 1)
    t.requester.close()
    await expect(pending).rejects.toMatchObject({ code: 'HOOKBRIDGE_BROKER_UNAVAILABLE' })
  })
})
