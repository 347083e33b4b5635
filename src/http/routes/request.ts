// POST /v1/request/{topic}: request/response over MQTT 5. The body is published (as with POST /v1/publish/{topic})
// with a response topic and correlation data of this instance; the reply's payload and properties are the answer.
import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { HookbridgeError } from '../../errors.js'
import { validateTopic } from '../../topics/filter.js'
import { type App, type AppEnv, newApp, type RouteContext } from '../app.js'
import { errorSchema } from '../errors.js'
import { assertMayPublish } from '../middleware/auth.js'
import { rawInput } from './publish-input.js'
import { rawPublishHeaders, rawPublishQuery, topicParams } from './publish-schemas.js'

const json = <T>(schema: T) => ({ 'application/json': { schema } })
const failure = (description: string) => ({ description, content: json(errorSchema) })
const PREFIX = '/v1/request/'

const requestQuery = rawPublishQuery.omit({ responseTopic: true, correlationData: true, retain: true }).extend({
  timeoutMs: z
    .string()
    .regex(/^\d{1,9}$/, 'expected a whole number of milliseconds')
    .optional()
    .openapi({ description: 'How long to wait for the reply; default and maximum: api.requestReplyTimeoutMs' }),
})
const requestHeaders = rawPublishHeaders.omit({
  'mqtt-retain': true,
  'mqtt-response-topic': true,
  'mqtt-correlation-data': true,
  'idempotency-key': true,
})

export function requestRoutes(ctx: RouteContext): App {
  const app = newApp()
  const route = createRoute({
    method: 'post',
    path: '/v1/request/{topic}',
    tags: ['publish'],
    summary: 'Publish the body as a request and answer with the reply (MQTT 5)',
    description:
      'The message gets a response topic of this instance (`hookbridge/replies/<instance>/<id>`) and correlation data; ' +
      "a responder publishes its reply there, copying the correlation data. The reply's payload is the response " +
      'body, its content type the `Content-Type`, its user properties `MQTT-User-Property` (percent-encoded ' +
      '`key=value`, comma-separated), its topic `MQTT-Topic`. Options as for `POST /v1/publish/{topic}`.',
    security: [{ bearerAuth: [] }],
    request: {
      params: topicParams,
      query: requestQuery,
      headers: requestHeaders,
      body: { content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
    },
    responses: {
      200: { description: 'The reply', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
      400: failure('Invalid request, topic, properties or timeoutMs'),
      401: failure('Missing or wrong bearer token'),
      403: failure("The topic is outside the token's publish filters"),
      413: failure('The body is larger than api.maxBodyBytes'),
      429: failure('Rate limit of the token exceeded (Retry-After)'),
      501: failure('The broker connection is MQTT 3.1.1 (HOOKBRIDGE_MQTT5_REQUIRED)'),
      502: failure('The broker refused the request or the reply subscription'),
      503: failure('Broker not connected: nothing was published (Retry-After)'),
      504: failure('No reply within timeoutMs (HOOKBRIDGE_REPLY_TIMEOUT), or the request was not acknowledged'),
    },
  })
  app.openAPIRegistry.registerPath(route)
  app.openapi({ ...route, path: '/v1/request/{topic{.+}}', hide: true }, async (c) => {
    if (ctx.protocolVersion !== 5)
      throw new HookbridgeError('HOOKBRIDGE_MQTT5_REQUIRED', { feature: 'POST /v1/request' })
    const requester = ctx.requests
    if (!requester) throw new HookbridgeError('HOOKBRIDGE_INTERNAL', { detail: 'no requester' })
    const query = c.req.valid('query')
    const headers = c.req.valid('header')
    if (c.req.header('mqtt-response-topic') !== undefined || c.req.header('mqtt-correlation-data') !== undefined) {
      throw invalid('the response topic and correlation data of a request are set by hookbridge; leave them out')
    }
    if (c.req.header('mqtt-retain') !== undefined) throw invalid('a request is never retained; leave MQTT-Retain out')
    const input = rawInput(c, query, headers, ctx.protocolVersion)
    const topic = topicOf(c)
    validateTopic(topic, { allowDollar: ctx.config.allowDollarTopics })
    assertMayPublish(c.get('principal'), topic)
    const maxMs = ctx.config.requestReplyTimeoutMs
    const timeoutMs = query.timeoutMs === undefined ? maxMs : Number(query.timeoutMs)
    if (timeoutMs < 1 || timeoutMs > maxMs) {
      throw invalid(`timeoutMs must be between 1 and ${maxMs} (api.requestReplyTimeoutMs)`)
    }
    const reply = await requester.request(topic, input.payload, {
      qos: input.qos,
      properties: input.properties,
      timeoutMs,
    })
    const answer: Record<string, string> = { 'MQTT-Topic': encodeURI(reply.topic) }
    const contentType = reply.properties.contentType
    answer['Content-Type'] =
      typeof contentType === 'string' && /^[\x20-\x7e]+$/.test(contentType) ? contentType : 'application/octet-stream'
    const userProperties = encodeUserProperties(reply.properties.userProperties)
    if (userProperties) answer['MQTT-User-Property'] = userProperties
    return c.body(new Uint8Array(reply.payload), 200, answer) as never
  })
  return app
}

/** The topic from the path: one or more segments, percent-decoded. */
function topicOf(c: Context<AppEnv>): string {
  const raw = new URL(c.req.url).pathname.slice(PREFIX.length)
  try {
    return decodeURIComponent(raw)
  } catch {
    throw new HookbridgeError('HOOKBRIDGE_TOPIC_INVALID', {
      topic: raw,
      detail: 'the path is not valid percent-encoded UTF-8',
    })
  }
}

/** `a=1, b=x%2Cy`: what POST /v1/publish/{topic} reads from MQTT-User-Property. */
export function encodeUserProperties(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const pairs: string[] = []
  for (const [key, values] of Object.entries(value as Record<string, string | string[]>)) {
    for (const item of [values].flat()) pairs.push(`${encodeURIComponent(key)}=${encodeURIComponent(item)}`)
  }
  return pairs.length > 0 ? pairs.join(', ') : undefined
}

function invalid(detail: string): HookbridgeError {
  return new HookbridgeError('HOOKBRIDGE_REQUEST_INVALID', { detail })
}
