// POST /v1/publish/{topic} (raw body), POST /v1/publish (JSON) and POST /v1/publish/batch: HTTP -> MQTT.
// The answer is honest: 200 only after PUBACK/PUBCOMP, 202 for QoS 0 once written, an error code otherwise.
import { createRoute } from '@hono/zod-openapi'
import { HookbridgeError } from '../../errors.js'
import { type App, newApp, type RouteContext } from '../app.js'
import { errorBody, errorSchema, toApiError } from '../errors.js'
import { createIdempotency } from '../middleware/idempotency.js'
import { jsonInput, publishOne, rawInput } from './publish-input.js'
import {
  batchResultSchema,
  batchSchema,
  jsonPublishHeaders,
  publishItemSchema,
  publishResultSchema,
  rawPublishHeaders,
  rawPublishQuery,
  topicParams,
} from './publish-schemas.js'
import { rawPublishOptions } from './raw-publish-options.js'

const json = <T>(schema: T) => ({ 'application/json': { schema } })
const failure = (description: string) => ({ description, content: json(errorSchema) })

export const publishErrors = {
  400: failure('Invalid request, topic or properties (HOOKBRIDGE_REQUEST_INVALID, HOOKBRIDGE_TOPIC_INVALID, ...)'),
  401: failure('Missing or wrong bearer token'),
  403: failure("The topic is outside the token's publish filters"),
  413: failure('The body is larger than api.maxBodyBytes'),
  422: failure('Idempotency-Key reused for a different request'),
  429: failure('Rate limit of the token exceeded (Retry-After)'),
  502: failure('The broker refused the message (reasonCode)'),
  503: failure('Broker not connected: nothing was published (Retry-After)'),
  504: failure('Sent, but no acknowledgement within api.requestTimeoutMs: delivery unconfirmed'),
}

const published = {
  200: { description: 'QoS 1/2: the broker acknowledged (PUBACK / PUBCOMP)', content: json(publishResultSchema) },
  202: {
    description: 'QoS 0: handed to the broker connection, no acknowledgement exists',
    content: json(publishResultSchema),
  },
}

export function publishRoutes(ctx: RouteContext): App {
  const app = newApp()
  const idempotency = createIdempotency({
    windowMs: ctx.config.idempotencyWindowMs,
    maxKeys: ctx.config.idempotencyMaxKeys,
  })
  const security = [{ bearerAuth: [] }]

  const batchRoute = createRoute({
    method: 'post',
    path: '/v1/publish/batch',
    tags: ['publish'],
    summary: 'Publish several messages; each item is answered on its own',
    description: '200 when every item succeeded, 207 otherwise; `results[i].status` is what item i alone would get.',
    security,
    middleware: [idempotency] as const,
    request: { headers: jsonPublishHeaders, body: { content: json(batchSchema), required: true } },
    responses: {
      200: { description: 'Every item published', content: json(batchResultSchema) },
      207: { description: 'Some items failed', content: json(batchResultSchema) },
      ...publishErrors,
    },
  })
  app.openapi(batchRoute, async (c) => {
    const items = c.req.valid('json')
    if (items.length > ctx.config.maxBatchItems) {
      throw new HookbridgeError('HOOKBRIDGE_REQUEST_INVALID', {
        detail: `a batch may hold at most ${ctx.config.maxBatchItems} items (api.maxBatchItems), this one has ${items.length}`,
      })
    }
    const principal = c.get('principal')
    // Started together and in order, so the broker receives them in order; answered as their acks come.
    const results = await Promise.all(
      items.map(async (item) => {
        try {
          const outcome = await publishOne(ctx, principal, jsonInput(item))
          return { status: outcome.status as number, result: outcome.result }
        } catch (err) {
          const apiError = toApiError(err, c)
          return { status: apiError.status ?? 500, error: errorBody(apiError).error }
        }
      }),
    )
    if (results.some((r) => r.status >= 500 && r.status !== 502)) c.set('retryable', true)
    return c.json({ results }, results.every((r) => r.status < 300) ? 200 : 207)
  })

  const jsonRoute = createRoute({
    method: 'post',
    path: '/v1/publish',
    tags: ['publish'],
    summary: 'Publish one message described as JSON',
    security,
    middleware: [idempotency] as const,
    request: { headers: jsonPublishHeaders, body: { content: json(publishItemSchema), required: true } },
    responses: { ...published, ...publishErrors },
  })
  app.openapi(jsonRoute, async (c) => {
    const outcome = await publishOne(ctx, c.get('principal'), jsonInput(c.req.valid('json')))
    return outcome.status === 200 ? c.json(outcome.result, 200) : c.json(outcome.result, 202)
  })

  // `/v1/publish/` names the empty topic, which MQTT does not allow.
  app.post('/v1/publish/', () => {
    throw new HookbridgeError('HOOKBRIDGE_TOPIC_INVALID', { topic: '', detail: 'the topic is missing from the path' })
  })

  const rawRoute = createRoute({
    method: 'post',
    path: '/v1/publish/{topic}',
    tags: ['publish'],
    summary: 'Publish the request body, bytes unchanged, to the topic in the path',
    description:
      'Options come from the query string or the equivalent `MQTT-*` headers (given in both, they must agree). ' +
      'On MQTT 5 the `Content-Type` header becomes the message content type.',
    security,
    middleware: [idempotency] as const,
    request: {
      params: topicParams,
      query: rawPublishQuery,
      headers: rawPublishHeaders,
      body: { content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
    },
    responses: { ...published, ...publishErrors },
  })
  // Documented as {topic}; routed with a pattern that spans '/' (Hono's `:topic{.+}`). The hottest route: its
  // query and headers are checked by rawPublishOptions, which falls back on the documented schemas (the topic
  // parameter needs no check: the route matches only a non-empty string, and rawInput reads the raw path).
  app.openAPIRegistry.registerPath(rawRoute)
  app.post('/v1/publish/:topic{.+}', idempotency, async (c) => {
    const { query, headers } = rawPublishOptions(c)
    const outcome = await publishOne(ctx, c.get('principal'), rawInput(c, query, headers, ctx.protocolVersion))
    return outcome.status === 200 ? c.json(outcome.result, 200) : c.json(outcome.result, 202)
  })
  return app
}
