// The rule-file format. One zod schema; unknown keys are errors; defaults live here.
// `hookbridge schema` publishes it as JSON Schema for editors.
import { z } from 'zod'
import { retryPolicySchema } from '../delivery/retry-schema.js'
import { hookPublishSchema, hookSourceSchema, isHookRuleInput } from './hook-schema.js'
import { cloudEventsSchema, mqttTargetSchema, replySchema, signSchema } from './output-schema.js'

export const ruleNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

export const httpMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const
const httpMethod = z.enum(httpMethods)

export const httpTargetSchema = z
  .object({
    url: z.string().min(1).describe('Webhook URL; {expression} parts are computed from the message (URL-encoded)'),
    method: z
      .preprocess(
        (v) => (typeof v === 'string' && !v.includes('{') ? v.toUpperCase() : v),
        z.union([httpMethod, z.string().regex(/\{.+\}/, 'expected GET, POST, PUT, PATCH, DELETE or a {template}')]),
      )
      .default('POST')
      .describe('GET, POST, PUT, PATCH or DELETE, or a {template} that computes one of them per message'),
    headers: z
      .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'expected an HTTP header name'), z.string())
      .default({})
      .describe('Header values may use {expression} and ${env:NAME}'),
    timeoutMs: z.number().int().positive().max(600_000).optional(),
    allowedHosts: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('Required when the URL host is computed: the hosts (host or host:port) it may reach'),
    sign: signSchema.optional(),
    cloudEvents: cloudEventsSchema.optional(),
    reply: replySchema.optional(),
    batch: z
      .object({
        maxMessages: z.number().int().min(1).default(100),
        maxBytes: z.number().int().min(1).default(1_048_576).describe('Sum of the bodies in one batch'),
        maxWaitMs: z.number().int().min(0).max(600_000).default(1000).describe('How long the first message waits'),
        aggregate: z
          .string()
          .min(1)
          .optional()
          .describe('JSONata over the array of bodies: the request body (default: the array itself)'),
      })
      .strict()
      .optional()
      .describe('Send up to maxMessages messages in one request; each counts as delivered when the batch is'),
  })
  .strict()

/** One target: a webhook, or (with the `mqtt` key) a republish into MQTT. */
export const targetSchema = z.union([httpTargetSchema, mqttTargetSchema])

export const sourceSchema = z
  .object({
    topic: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('MQTT filter(s); +name and #name are wildcards that fill `params`'),
    qos: z.literal([0, 1, 2]).default(1),
    shareGroup: z
      .string()
      .regex(/^[^/+#]+$/, 'expected a group name without "/", "+" or "#"')
      .optional()
      .describe('Subscribe as $share/<group>/<filter> so several instances split the messages'),
  })
  .strict()

export const ruleSchema = z
  .object({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(ruleNamePattern, 'expected letters, digits, ".", "_" or "-", starting with a letter or digit')
      .optional()
      .describe('Defaults to the file name'),
    description: z.string().optional(),
    enabled: z.boolean().default(true),
    from: sourceSchema,
    when: z.string().min(1).optional().describe('JSONata: the message is delivered only when this is true'),
    transform: z.string().min(1).optional().describe('JSONata: the JSON body to send; no result skips the message'),
    to: z.union([targetSchema, z.array(targetSchema).min(1)]),
    orderBy: z
      .string()
      .min(1)
      .optional()
      .describe('JSONata key (e.g. `params.device`): messages with the same key are delivered one at a time, in order'),
    retry: retryPolicySchema.optional(),
    deadLetter: z
      .object({
        topic: z.string().min(1).describe('Topic template the dead letter is also published to, e.g. dlq/{rule}'),
        qos: z.literal([0, 1, 2]).default(1),
      })
      .strict()
      .optional()
      .describe('Also publish each dead letter of this rule to MQTT'),
  })
  .strict()

export type RuleInput = z.input<typeof ruleSchema>
export type RuleDefinition = z.output<typeof ruleSchema>
export type HttpTargetDefinition = z.output<typeof httpTargetSchema>
export type TargetDefinition = z.output<typeof targetSchema>

/** An inbound hook: HTTP request -> verify -> transform -> one MQTT publish. */
export const hookRuleSchema = z
  .object({
    $schema: ruleSchema.shape.$schema,
    name: ruleSchema.shape.name,
    description: ruleSchema.shape.description,
    enabled: ruleSchema.shape.enabled,
    from: hookSourceSchema,
    transform: z
      .string()
      .min(1)
      .optional()
      .describe(
        'JSONata over the request (body, bodyBase64, headers, query, ...): the payload; no result publishes nothing',
      ),
    publish: hookPublishSchema,
  })
  .strict()
  .meta({ id: 'HookRule', title: 'hookbridge inbound hook rule' })

export type HookRuleDefinition = z.output<typeof hookRuleSchema>
export type AnyRuleDefinition = RuleDefinition | HookRuleDefinition

const anyRuleSchema = z.union([ruleSchema, hookRuleSchema])

/** A rule file holds one rule or a list of rules. */
export const ruleFileSchema = z.union([anyRuleSchema, z.array(anyRuleSchema).min(1)])

export function isHookRule(rule: AnyRuleDefinition): rule is HookRuleDefinition {
  return 'hook' in rule.from
}

/**
 * Check a rule file's contents, each rule against the form its `from` asks for (MQTT topic or HTTP hook), so that
 * errors speak of that form rather than of whichever branch of the union came first.
 */
export function parseRuleFile(value: unknown): z.ZodSafeParseResult<AnyRuleDefinition | AnyRuleDefinition[]> {
  const formOf = (rule: unknown): z.ZodType<AnyRuleDefinition> => (isHookRuleInput(rule) ? hookRuleSchema : ruleSchema)
  const schema =
    Array.isArray(value) && value.length > 0
      ? z.tuple(value.map(formOf) as [z.ZodType<AnyRuleDefinition>, ...z.ZodType<AnyRuleDefinition>[]])
      : Array.isArray(value)
        ? ruleFileSchema
        : formOf(value)
  return schema.safeParse(value, { reportInput: true }) as z.ZodSafeParseResult<AnyRuleDefinition | AnyRuleDefinition[]>
}
