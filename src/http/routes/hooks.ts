// POST /v1/hooks/{name}: an inbound webhook into MQTT. The hook's own verification (Standard Webhooks, GitHub HMAC,
// bearer token) stands in for the API tokens. The body is read within the hook's limit, verified over its raw
// bytes, transformed and published; the answer is 2xx only once the broker has the message.
import { createRoute, z } from '@hono/zod-openapi'
import { HookbridgeError } from '../../errors.js'
import { prepareHookMessage } from '../../transform/hook-message.js'
import { type App, newApp, type RouteContext } from '../app.js'
import { errorSchema } from '../errors.js'
import { verifyHookRequest } from '../hook-verify.js'
import { createBodyLimit } from '../middleware/body-limit.js'
import type { PublishOutcome } from './publish-input.js'
import { publishResultSchema } from './publish-schemas.js'

const json = <T>(schema: T) => ({ 'application/json': { schema } })
const failure = (description: string) => ({ description, content: json(errorSchema) })

const hookParams = z.object({
  name: z.string().openapi({
    param: { name: 'name', in: 'path' },
    description: "The hook's name: `from.hook.name` of its rule, or the rule's name",
    example: 'github',
  }),
})

export function hooksRoutes(ctx: RouteContext): App {
  const app = newApp()
  const route = createRoute({
    method: 'post',
    path: '/v1/hooks/{name}',
    tags: ['hooks'],
    summary: 'Receive a webhook: verify the sender, transform the body, publish it into MQTT',
    description:
      'No API token: the rule says how the sender is verified (Standard Webhooks signature, ' +
      '`X-Hub-Signature-256`, or `Authorization: Bearer`). The answer is 200 only after the broker acknowledged ' +
      'the message (QoS 1/2), 202 once it was written (QoS 0).',
    security: [],
    request: {
      params: hookParams,
      body: { content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
    },
    responses: {
      200: { description: 'QoS 1/2: published and acknowledged by the broker', content: json(publishResultSchema) },
      202: { description: 'QoS 0: handed to the broker connection', content: json(publishResultSchema) },
      204: { description: 'The transform gave no result: nothing was published' },
      400: failure('The rule sets MQTT 5 properties but the connection is MQTT 3.1.1'),
      401: failure('Missing or wrong signature or token (HOOKBRIDGE_HOOK_SIGNATURE_INVALID)'),
      404: failure('No hook of that name (HOOKBRIDGE_HOOK_NOT_FOUND)'),
      413: failure("The body is larger than the hook's maxBodyBytes (default api.maxBodyBytes)"),
      422: failure('The transform or a template failed on this body (HOOKBRIDGE_HOOK_TRANSFORM_FAILED)'),
      502: failure('The broker refused the message (reasonCode)'),
      503: failure('Broker not connected: nothing was published (Retry-After)'),
      504: failure('Sent, but no acknowledgement within api.requestTimeoutMs: delivery unconfirmed'),
    },
  })
  app.openapi(route, async (c) => {
    const { name } = c.req.valid('param')
    const hook = ctx.rules().hook(name)
    if (!hook) throw new HookbridgeError('HOOKBRIDGE_HOOK_NOT_FOUND', { name })
    // Read here rather than in the app's body limit: the limit is the hook's, known only once it is found.
    await createBodyLimit(hook.maxBodyBytes ?? ctx.config.maxBodyBytes)(c, async () => {})
    const body = c.get('body')
    const receivedAt = Date.now()
    verifyHookRequest(hook.hook, hook.verification, { header: (h) => c.req.header(h), body, nowMs: receivedAt })
    const message = await prepareHookMessage(
      hook,
      { method: c.req.method, path: c.req.path, headers: c.req.header(), query: c.req.query(), body, receivedAt },
      { protocolVersion: ctx.protocolVersion, allowDollarTopics: ctx.config.allowDollarTopics },
    )
    if (message === undefined) return c.body(null, 204)
    const hasProperties = Object.keys(message.properties).length > 0
    const sent = await ctx.publisher.publish(message.topic, message.payload, {
      qos: message.qos,
      retain: message.retain,
      properties: hasProperties ? message.properties : undefined,
    })
    const result: PublishOutcome['result'] = { topic: message.topic, qos: message.qos, retain: message.retain }
    if (sent.messageId !== undefined) result.messageId = sent.messageId
    if (sent.reasonCode !== undefined) result.reasonCode = sent.reasonCode
    ctx.logger.debug({ hook: hook.hook, rule: hook.name, topic: message.topic }, 'hook published')
    return message.qos === 0 ? c.json(result, 202) : c.json(result, 200)
  })
  return app
}
