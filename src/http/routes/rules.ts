// GET /v1/rules: the running rules and inbound hooks. POST /v1/rules/{name}/dry-run: what one rule would do with one message,
// computed exactly as ingest would (rules/dry-run.ts), with nothing stored or sent and `${env:...}` values redacted.
import { createRoute, z } from '@hono/zod-openapi'
import { HookbridgeError } from '../../errors.js'
import type { CompiledRule } from '../../rules/compile.js'
import type { CompiledHook } from '../../rules/compile-hook.js'
import { type DryRunOutcome, dryRun } from '../../rules/dry-run.js'
import type { SourceMessage } from '../../spool/spool.js'
import { validateTopic } from '../../topics/filter.js'
import { propertiesToJson } from '../../transform/envelope.js'
import { type App, newApp, type RouteContext } from '../app.js'
import { errorSchema } from '../errors.js'
import { jsonInput } from './publish-input.js'
import { publishItemSchema } from './publish-schemas.js'

const json = <T>(schema: T) => ({ 'application/json': { schema } })
const failure = (description: string) => ({ description, content: json(errorSchema) })
const common = { tags: ['rules'], security: [{ bearerAuth: [] }] }

const ruleSummarySchema = z
  .object({
    name: z.string(),
    file: z.string().openapi({ example: 'rules/hot-readings.yaml' }),
    description: z.string().optional(),
    filters: z.array(z.string()).openapi({ example: ['sensors/+device/temperature'] }),
    qos: z.number().int(),
    state: z
      .enum(['running'])
      .openapi({ description: 'Rules listed here run; a failed reload keeps the previous ones' }),
    counters: z
      .record(z.string(), z.number())
      .optional()
      .openapi({ description: 'Since start: received, filtered, delivered, deadLettered, retried' }),
    targets: z.array(
      z.object({
        method: z.string(),
        url: z.string().openapi({ description: 'The URL template as written; `${env:...}` references unresolved' }),
      }),
    ),
  })
  .openapi('RuleSummary')

const hookSummarySchema = z
  .object({
    name: z.string(),
    file: z.string().openapi({ example: 'rules/github-push.yaml' }),
    description: z.string().optional(),
    path: z.string().openapi({ description: 'Where senders POST', example: '/v1/hooks/github-push' }),
    verification: z
      .enum(['standardWebhooks', 'githubHmac', 'bearer', 'none'])
      .openapi({ description: 'How a request proves its sender (secrets are never shown)' }),
    topic: z
      .string()
      .openapi({ description: 'The topic template as written', example: 'github/${payload.repository}' }),
    qos: z.number().int(),
    retain: z.boolean(),
  })
  .openapi('HookSummary')

const dryRunResultSchema = z
  .object({
    matched: z.boolean().openapi({ description: "false: the topic matches none of the rule's filters" }),
    skipped: z.enum(['when', 'empty-transform']).optional().openapi({ description: 'Why nothing would be sent' }),
    requests: z
      .array(
        z.object({
          target: z.string(),
          method: z.string(),
          url: z.string(),
          headers: z.record(z.string(), z.string()),
          bodyText: z.string().optional().openapi({ description: 'The body, when it is UTF-8 text' }),
          bodyBase64: z.string().optional().openapi({ description: 'The body, when it is not' }),
        }),
      )
      .optional()
      .openapi({ description: 'One per target; `${env:...}` values read [redacted]' }),
    error: z
      .object({ code: z.string(), message: z.string() })
      .optional()
      .openapi({ description: 'The message would fail and be dead-lettered with this code' }),
  })
  .openapi('DryRunResult')

const nameParams = z.object({
  name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: 'hot-readings' }),
})

const listRoute = createRoute({
  ...common,
  method: 'get',
  path: '/v1/rules',
  summary: 'The rules that are running',
  responses: {
    200: {
      description: 'The running rules and inbound hooks, and the problems of the last reload when it failed',
      content: json(
        z.object({
          rules: z.array(ruleSummarySchema),
          hooks: z.array(hookSummarySchema),
          lastReloadErrors: z.array(z.string()),
        }),
      ),
    },
    401: failure('Missing or wrong bearer token'),
  },
})

const reloadRoute = createRoute({
  ...common,
  method: 'post',
  path: '/v1/rules/reload',
  summary: 'Load the rules directory again and apply it atomically; an invalid set changes nothing',
  responses: {
    200: {
      description: 'Applied',
      content: json(
        z.object({
          ok: z.boolean(),
          rules: z.number(),
          added: z.array(z.string()),
          removed: z.array(z.string()),
          changed: z.array(z.string()),
        }),
      ),
    },
    401: failure('Missing or wrong bearer token'),
    422: failure('The rules have problems; the previous ones keep running (HOOKBRIDGE_RULES_RELOAD_FAILED)'),
  },
})

const dryRunRoute = createRoute({
  ...common,
  method: 'post',
  path: '/v1/rules/{name}/dry-run',
  summary: 'What the rule would do with a message: skip it, fail, or send these requests (nothing is sent)',
  description:
    'The body is that of `POST /v1/publish`. The message is taken as received now; `properties` as over MQTT 5.',
  request: { params: nameParams, body: { content: json(publishItemSchema), required: true } },
  responses: {
    200: { description: 'The outcome', content: json(dryRunResultSchema) },
    400: failure('Invalid body or topic (HOOKBRIDGE_REQUEST_INVALID, HOOKBRIDGE_TOPIC_INVALID)'),
    401: failure('Missing or wrong bearer token'),
    404: failure('No such rule is running (HOOKBRIDGE_RULE_NOT_FOUND)'),
  },
})

export function rulesRoutes(ctx: RouteContext): App {
  const app = newApp()
  app.openapi(listRoute, (c) =>
    c.json(
      {
        rules: ctx.rules().rules.map((rule) => ({ ...summary(rule), counters: ctx.ruleAdmin?.counters(rule.name) })),
        hooks: ctx.rules().hooks.map(hookSummary),
        lastReloadErrors: ctx.ruleAdmin?.lastErrors() ?? [],
      },
      200,
    ),
  )
  app.openapi(reloadRoute, async (c) => {
    if (!ctx.ruleAdmin)
      throw new HookbridgeError('HOOKBRIDGE_NOT_READY', { detail: 'rule reload is not available here' })
    const result = await ctx.ruleAdmin.reload()
    if (!result.ok) {
      throw new HookbridgeError('HOOKBRIDGE_RULES_RELOAD_FAILED', { detail: ctx.ruleAdmin.lastErrors().join('; ') })
    }
    const { ok, rules, added, removed, changed } = result
    return c.json({ ok, rules, added, removed, changed }, 200)
  })
  app.openapi(dryRunRoute, async (c) => {
    const { name } = c.req.valid('param')
    const rules = ctx.rules()
    const rule = rules.get(name)
    if (!rule) throw new HookbridgeError('HOOKBRIDGE_RULE_NOT_FOUND', { name })
    const input = jsonInput(c.req.valid('json'))
    // Any topic a subscriber could receive, $SYS/... included.
    validateTopic(input.topic, { allowDollar: true })
    const message: SourceMessage = {
      topic: input.topic,
      payload: input.payload,
      qos: input.qos,
      retain: input.retain,
      receivedAt: Date.now(),
    }
    if (Object.keys(input.properties).length > 0) message.properties = propertiesToJson(input.properties)
    return c.json(toResult(await dryRun(rules, rule, message, 'dry-run')), 200)
  })
  return app
}

function summary(rule: CompiledRule): z.infer<typeof ruleSummarySchema> {
  return {
    name: rule.name,
    file: rule.file,
    description: rule.description,
    filters: rule.filters.map((f) => f.source),
    qos: rule.qos,
    state: 'running',
    targets: rule.targets.map((t) => ({ method: t.method, url: t.url.source })),
  }
}

function hookSummary(hook: CompiledHook): z.infer<typeof hookSummarySchema> {
  return {
    name: hook.name,
    file: hook.file,
    description: hook.description,
    path: `/v1/hooks/${hook.hook}`,
    verification: hook.verification.kind,
    topic: hook.topic.source,
    qos: hook.qos,
    retain: hook.retain,
  }
}

function toResult(outcome: DryRunOutcome): z.infer<typeof dryRunResultSchema> {
  if (!outcome.matched) return { matched: false }
  if ('skipped' in outcome) return { matched: true, skipped: outcome.skipped }
  if ('error' in outcome) return { matched: true, error: outcome.error }
  return {
    matched: true,
    requests: outcome.requests.map(({ body, ...request }) => {
      const text = body.toString('utf8')
      return Buffer.from(text, 'utf8').equals(body)
        ? { ...request, bodyText: text }
        : { ...request, bodyBase64: body.toString('base64') }
    }),
  }
}
