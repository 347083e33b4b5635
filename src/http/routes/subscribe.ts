// GET /v1/subscribe?topic=<filter>: a live stream of MQTT messages as Server-Sent Events, within the token's
// subscribe filters. Events: `subscribed` (first), `message`, `skipped` (a slow reader lost messages), `close`.
import { isUtf8 } from 'node:buffer'
import { createRoute, z } from '@hono/zod-openapi'
import { HookbridgeError, isHookbridgeError } from '../../errors.js'
import type { LiveMessage } from '../../mqtt/live-source.js'
import { parseFilter } from '../../topics/filter.js'
import { type App, newApp, type RouteContext } from '../app.js'
import { errorSchema } from '../errors.js'
import { assertMaySubscribe } from '../middleware/auth.js'
import { createSseStream, type SseStream } from './sse-stream.js'

export interface StreamRegistry {
  add(stream: SseStream): () => void
  count(): number
  endAll(reason: string): void
}

export function createStreamRegistry(): StreamRegistry {
  const streams = new Set<SseStream>()
  return {
    add(stream) {
      streams.add(stream)
      return () => streams.delete(stream)
    },
    count: () => streams.size,
    endAll(reason) {
      for (const stream of streams) stream.end(reason)
    },
  }
}

const failure = (description: string) => ({ description, content: { 'application/json': { schema: errorSchema } } })

const subscribeRoute = createRoute({
  method: 'get',
  path: '/v1/subscribe',
  tags: ['subscribe'],
  summary: 'Stream the messages of a topic filter as Server-Sent Events',
  description:
    'Events: `subscribed` once the broker granted the subscription; `message` with `{ topic, payload, encoding ' +
    '("utf8" or "base64"), qos, retain, properties }`; `skipped` with `{ count }` when a slow reader lost messages ' +
    '(at most api.sse.maxBufferedMessages wait per stream); `close` when the server ends the stream.',
  security: [{ bearerAuth: [] }],
  request: {
    query: z.object({ topic: z.string().openapi({ description: 'MQTT topic filter', example: 'sensors/#' }) }).strict(),
  },
  responses: {
    200: { description: 'The event stream', content: { 'text/event-stream': { schema: z.string() } } },
    400: failure('Invalid filter'),
    401: failure('Missing or wrong bearer token'),
    403: failure("The filter is not within the token's subscribe filters"),
    502: failure('The broker refused the subscription'),
    503: failure('Broker not available, or too many open streams'),
  },
})

export function subscribeRoutes(ctx: RouteContext): App {
  const app = newApp()
  app.openapi(subscribeRoute, async (c) => {
    const filter = liveFilter(c.req.valid('query').topic, ctx.config.allowDollarTopics)
    assertMaySubscribe(c.get('principal'), filter)
    const { maxStreams, maxBufferedMessages, heartbeatMs } = ctx.config.sse
    if (ctx.streams.count() >= maxStreams) throw new HookbridgeError('HOOKBRIDGE_SSE_LIMIT', { maxStreams })

    let unsubscribe: (() => Promise<void>) | undefined
    let closed = false
    const release = () => {
      unsubscribe?.().catch((err: unknown) => ctx.logger.warn({ err, filter }, 'ending a live subscription failed'))
    }
    const stream = createSseStream({
      maxBufferedMessages,
      heartbeatMs,
      onClose: () => {
        closed = true
        remove()
        release()
      },
    })
    const remove = ctx.streams.add(stream)
    let seq = 0
    try {
      const subscribing = ctx.live.subscribe(filter, (m) =>
        stream.push('message', JSON.stringify(toEvent(m)), `${++seq}`),
      )
      unsubscribe = await withDeadline(subscribing, ctx.config.requestTimeoutMs, filter)
    } catch (err) {
      remove()
      await stream.readable.cancel()
      throw subscribeError(err, filter)
    }
    if (closed) release() // ended while the subscription was being made
    stream.prepend('subscribed', JSON.stringify({ filter }))
    return c.body(stream.readable, 200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    })
  })
  return app
}

/** A filter for a live stream: plain MQTT (no $share, no named wildcards), '$' only when allowed. */
function liveFilter(source: string, allowDollar: boolean): string {
  const parsed = parseFilter(source)
  const fail = (detail: string) => new HookbridgeError('HOOKBRIDGE_FILTER_INVALID', { filter: source, detail })
  if (parsed.shareGroup !== undefined) throw fail('shared subscriptions ($share/...) are not offered as live streams')
  if (parsed.params.length > 0) throw fail("named wildcards are for rules; use plain '+' and '#'")
  if (!allowDollar && source.startsWith('$')) {
    throw fail("filters starting with '$' are reserved for the broker; set api.allowDollarTopics to allow them")
  }
  return parsed.mqttFilter
}

/** The subscription, or BROKER_UNAVAILABLE when the broker does not confirm it in time (then undone when it does). */
function withDeadline(
  subscribing: Promise<() => Promise<void>>,
  timeoutMs: number,
  filter: string,
): Promise<() => Promise<void>> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      subscribing.then((undo) => undo()).catch(() => {})
      const detail = `the broker did not confirm the subscription to ${filter} within ${timeoutMs} ms`
      reject(new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail, retryAfterSeconds: 1 }))
    }, timeoutMs)
  })
  return Promise.race([subscribing, late]).finally(() => clearTimeout(timer))
}

function subscribeError(err: unknown, filter: string): unknown {
  if (isHookbridgeError(err) && err.status !== undefined) return err
  if (isHookbridgeError(err, 'HOOKBRIDGE_MQTT_SUBSCRIBE_DENIED')) {
    return new HookbridgeError('HOOKBRIDGE_SUBSCRIBE_REJECTED', { filter, reasonCode: err.details.reasonCode })
  }
  const detail = `cannot subscribe to ${filter}: ${err instanceof Error ? err.message : String(err)}`
  return new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail, retryAfterSeconds: 1 })
}

function toEvent(m: LiveMessage): Record<string, unknown> {
  const utf8 = isUtf8(m.payload)
  const event: Record<string, unknown> = {
    topic: m.topic,
    payload: m.payload.toString(utf8 ? 'utf8' : 'base64'),
    encoding: utf8 ? 'utf8' : 'base64',
    qos: m.qos,
    retain: m.retain,
  }
  if (m.properties && Object.keys(m.properties).length > 0) event.properties = plainProperties(m.properties)
  return event
}

/** Binary properties (Buffers) as UTF-8 text when they are, else as `<name>Base64`. */
function plainProperties(properties: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(properties)) {
    if (!Buffer.isBuffer(value)) out[key] = value
    else if (isUtf8(value)) out[key] = value.toString('utf8')
    else out[`${key}Base64`] = value.toString('base64')
  }
  return out
}
