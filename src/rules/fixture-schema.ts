// The fixture-file format (`<rule>.test.yaml` beside the rule): input messages and what the rule must make of them.
// One zod schema; unknown keys are errors. `hookbridge schema fixture` publishes it as JSON Schema for editors.
import { z } from 'zod'
import { isHookbridgeError } from '../errors.js'
import { validateTopic } from '../topics/filter.js'
import { ruleNamePattern } from './schema.js'

/** `receivedAt` of a case that gives none: fixed, so that `$fromMillis(receivedAt)` gives the same text every run. */
export const FIXTURE_RECEIVED_AT = Date.UTC(2024, 0, 1) // 2024-01-01T00:00:00.000Z

const base64Text = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'expected base64 (A-Z, a-z, 0-9, +, /, = padding)')

/** MQTT 5 properties as the rule sees them in `properties` (correlation data as base64). */
const propertiesSchema = z
  .object({
    contentType: z.string().optional(),
    responseTopic: z.string().optional(),
    correlationData: base64Text.optional().describe('base64, as rules see it'),
    messageExpiryInterval: z.number().int().min(0).optional(),
    payloadFormatIndicator: z.boolean().optional(),
    userProperties: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  })
  .strict()

export const fixtureMessageSchema = z
  .object({
    topic: z.string().min(1).describe('The topic the message arrives on (no wildcards)'),
    payload: z
      .unknown()
      .optional()
      .describe(
        'A string is sent as UTF-8 text, { base64: "..." } as those bytes, any other value as its JSON text; none: empty',
      ),
    qos: z.literal([0, 1, 2]).default(1),
    retain: z.boolean().default(false),
    properties: propertiesSchema.optional(),
    receivedAt: z
      .union([z.number().int().min(0), z.iso.datetime({ offset: true })])
      .optional()
      .describe('Milliseconds since the epoch or an ISO date-time; default 2024-01-01T00:00:00.000Z'),
  })
  .strict()
  .superRefine((message, ctx) => {
    try {
      validateTopic(message.topic, { allowDollar: true })
    } catch (err) {
      const detail = isHookbridgeError(err) ? err.details.detail : err
      ctx.addIssue({ code: 'custom', path: ['topic'], message: String(detail) })
    }
    const binary = base64Payload(message.payload)
    if (binary !== undefined && !base64Text.safeParse(binary).success) {
      ctx.addIssue({ code: 'custom', path: ['payload', 'base64'], message: 'expected base64 text' })
    }
  })

export const requestExpectationSchema = z
  .object({
    method: z.string().min(1).optional(),
    url: z.string().min(1).optional().describe('The exact URL, computed parts filled in'),
    headers: z
      .record(z.string(), z.string())
      .optional()
      .describe('Only the headers listed are checked (names in any case); values from ${env:...} read [redacted]'),
    body: z
      .unknown()
      .optional()
      .describe('A JSON value compared deep-equal with a JSON body; a string also matches the body text'),
    bodyBase64: base64Text.optional().describe('The exact body bytes, for bodies that are not text'),
  })
  .strict()
  .refine((r) => r.body === undefined || r.bodyBase64 === undefined, {
    message: 'give body or bodyBase64, not both',
    path: ['bodyBase64'],
  })

// Exactly one outcome per case. `requests` stays a list (one per target) so that `publishes` can join it later.
const OUTCOMES = ['matches', 'skipped', 'error', 'requests'] as const

export const expectationSchema = z
  .object({
    matches: z.literal(false).optional().describe("false: the topic matches none of the rule's filters"),
    skipped: z
      .union([z.literal(true), z.enum(['when', 'empty-transform'])])
      .optional()
      .describe('The rule takes the message but sends nothing (`when` false, or the transform gave no result)'),
    error: z
      .object({
        code: z
          .string()
          .regex(/^HOOKBRIDGE_[A-Z0-9_]+$/, 'expected an error code such as HOOKBRIDGE_TRANSFORM_FAILED')
          .describe('HOOKBRIDGE_TRANSFORM_FAILED, HOOKBRIDGE_TEMPLATE_FAILED or HOOKBRIDGE_HOST_NOT_ALLOWED'),
        message: z.string().optional().describe('Text the error message must contain'),
      })
      .strict()
      .optional()
      .describe('The message fails (it would be dead-lettered)'),
    requests: z
      .array(requestExpectationSchema)
      .min(1)
      .optional()
      .describe('The HTTP requests, one per target in the order of `to`'),
  })
  .strict()
  .superRefine((expect, ctx) => {
    const given = OUTCOMES.filter((key) => expect[key] !== undefined)
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `give exactly one of ${OUTCOMES.join(', ')}${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`,
      })
    }
  })

export const fixtureCaseSchema = z
  .object({
    name: z.string().min(1),
    message: fixtureMessageSchema,
    expect: expectationSchema,
  })
  .strict()

export const fixtureFileSchema = z
  .object({
    $schema: z.string().optional(),
    rule: z
      .string()
      .regex(ruleNamePattern, 'expected a rule name')
      .optional()
      .describe('The rule under test; default: the file name before .test.yaml'),
    cases: z.array(fixtureCaseSchema).min(1),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>()
    file.cases.forEach((c, i) => {
      if (seen.has(c.name)) {
        ctx.addIssue({ code: 'custom', path: ['cases', i, 'name'], message: `another case is named "${c.name}"` })
      }
      seen.add(c.name)
    })
  })

export type FixtureFile = z.output<typeof fixtureFileSchema>
export type FixtureCase = z.output<typeof fixtureCaseSchema>
export type FixtureMessage = z.output<typeof fixtureMessageSchema>
export type Expectation = z.output<typeof expectationSchema>
export type RequestExpectation = z.output<typeof requestExpectationSchema>

/** The base64 text of a `{ base64 }` payload, else undefined. */
export function base64Payload(payload: unknown): unknown {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined
  const keys = Object.keys(payload)
  return keys.length === 1 && keys[0] === 'base64' ? (payload as { base64: unknown }).base64 : undefined
}
