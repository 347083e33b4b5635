// The rule-file format. One zod schema; unknown keys are errors; defaults live here.
// `hookbridge schema` publishes it as JSON Schema for editors.
import { z } from 'zod'
import { retryPolicySchema } from '../delivery/retry-schema.js'
import { cloudEventsSchema, mqttTargetSchema, replySchema, signSchema } from './output-schema.js'

export const ruleNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

const httpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'])

export const httpTargetSchema = z
  .object({
    url: z.string().min(1).describe('Webhook URL; {expression} parts are computed from the message (URL-encoded)'),
    method: z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), httpMethod).default('POST'),
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

/** A rule file holds one rule or a list of rules. */
export const ruleFileSchema = z.union([ruleSchema, z.array(ruleSchema).min(1)])
