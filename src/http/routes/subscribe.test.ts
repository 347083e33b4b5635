import { afterEach, describe, expect, it } from 'vitest'
import { testApp } from '../../../test/http/fakes.js'
import { HookbridgeError } from '../../errors.js'

const decoder = new TextDecoder()
const readers: ReadableStreamDefaultReader<Uint8Array>[] = []

afterEach(async () => {
  for (const reader of readers.splice(0)) await reader.cancel()
})

async function open(app: ReturnType<typeof testApp>['app'], filter: string) {
  const res = await app.request(`/v1/subscribe?topic=${encodeURIComponent(filter)}`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
  const reader = res.body!.getReader()
  readers.push(reader)
  let buffer = ''
  return {
    reader,
    /** The next event as { event, data, id }. */
    async next(): Promise<{ event?: string; data: string; id?: string }> {
      while (!buffer.includes('\n\n')) {
        const { value, done } = await reader.read()
        if (done) throw new Error('stream ended')
        buffer += decoder.decode(value)
      }
      const end = buffer.indexOf('\n\n')
      const raw = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const fields: Record<string, string> = {}
      for (const line of raw.split('\n')) {
        const colon = line.indexOf(': ')
        fields[line.slice(0, colon)] = line.slice(colon + 2)
      }
      return { event: fields.event, data: fields.data, id: fields.id }
    },
  }
}

describe('GET /v1/subscribe', () => {
  it('sends `subscribed`, then each message with its payload and properties', async () => {
    const { app, live } = testApp()
    const sse = await open(app, 'sensors/+/temp')
    expect(await sse.next()).toEqual({ event: 'subscribed', data: '{"filter":"sensors/+/temp"}' })
    expect([...live.subscriptions.keys()]).toEqual(['sensors/+/temp'])

    live.emit({ topic: 'sensors/a/temp', payload: Buffer.from('21.5'), qos: 1, retain: true })
    live.emit({
      topic: 'sensors/b/temp',
      payload: Buffer.from([0xff, 0x00]),
      properties: { correlationData: Buffer.from([0xfe]), contentType: 'x', responseTopic: 'r' },
    })
    const first = await sse.next()
    expect(first.event).toBe('message')
    expect(first.id).toBe('1')
    expect(JSON.parse(first.data)).toEqual({
      topic: 'sensors/a/temp',
      payload: '21.5',
      encoding: 'utf8',
      qos: 1,
      retain: true,
    })
    expect(JSON.parse((await sse.next()).data)).toEqual({
      topic: 'sensors/b/temp',
      payload: '/wA=',
      encoding: 'base64',
      qos: 0,
      retain: false,
      properties: { correlationDataBase64: '/g==', contentType: 'x', responseTopic: 'r' },
    })
  })

  it('ends the subscription when the client goes away', async () => {
    const { app, live } = testApp()
    const sse = await open(app, 'a/#')
    await sse.next()
    await sse.reader.cancel()
    await expect.poll(() => live.unsubscribed).toEqual(['a/#'])
  })

  it.each([
    ['$share/g/a/#', 'HOOKBRIDGE_FILTER_INVALID'],
    ['a/+id', 'HOOKBRIDGE_FILTER_INVALID'],
    ['$SYS/#', 'HOOKBRIDGE_FILTER_INVALID'],
    ['a/#/b', 'HOOKBRIDGE_FILTER_INVALID'],
    ['', 'HOOKBRIDGE_FILTER_INVALID'],
  ])('refuses the filter %j with 400 %s', async (filter, code) => {
    const { app, live } = testApp()
    const res = await app.request(`/v1/subscribe?topic=${encodeURIComponent(filter)}`)
    expect(res.status).toBe(400)
    expect((await res.json()).error.code).toBe(code)
    expect(live.subscriptions.size).toBe(0)
  })

  it('answers 503 when the broker does not confirm the subscription within api.requestTimeoutMs', async () => {
    const { app, live } = testApp({ requestTimeoutMs: 50 })
    let undone = false
    let confirm!: () => void
    live.subscribe = () =>
      new Promise((resolve) => {
        confirm = () =>
          resolve(async () => {
            undone = true
          })
      })
    const res = await app.request('/v1/subscribe?topic=a')
    expect(res.status).toBe(503)
    expect((await res.json()).error.message).toContain('did not confirm the subscription')
    confirm() // too late: undone at once
    await expect.poll(() => undone).toBe(true)
  })

  it('answers 400 without a topic', async () => {
    const { app } = testApp()
    expect((await app.request('/v1/subscribe')).status).toBe(400)
  })

  it('answers 503 past api.sse.maxStreams', async () => {
    const { app } = testApp({ sse: { maxStreams: 1 } })
    await open(app, 'a')
    const res = await app.request('/v1/subscribe?topic=b')
    expect(res.status).toBe(503)
    expect((await res.json()).error.code).toBe('HOOKBRIDGE_SSE_LIMIT')
  })

  it('maps a refused subscription to 502 and an unreachable broker to 503', async () => {
    const { app, live } = testApp({ sse: { maxStreams: 1 } })
    const working = live.subscribe
    live.subscribe = async () => {
      throw new HookbridgeError('HOOKBRIDGE_MQTT_SUBSCRIBE_DENIED', { filter: 'a', reasonCode: 135 })
    }
    const denied = await app.request('/v1/subscribe?topic=a')
    expect(denied.status).toBe(502)
    expect((await denied.json()).error).toMatchObject({ code: 'HOOKBRIDGE_SUBSCRIBE_REJECTED', reasonCode: 135 })
    live.subscribe = async () => {
      throw new Error('client disconnecting')
    }
    const down = await app.request('/v1/subscribe?topic=a')
    expect(down.status).toBe(503)
    expect(down.headers.get('retry-after')).toBe('1')
    // Failed subscriptions leave no stream open: the one allowed stream is still free.
    live.subscribe = working
    await open(app, 'a')
  })
})
