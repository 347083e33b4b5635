// The zod schemas of the dead-letter endpoints: they validate requests and generate /openapi.json. The shapes
// are those of spool/dead-letter-admin.ts (the route handlers' return types check that they agree).
import { z } from '@hono/zod-openapi'
import { MAX_PAGE_LIMIT } from '../../spool/dead-letter-admin.js'

const time = z.string().openapi({ format: 'date-time', example: '2025-01-31T12:00:00.000Z' })

export const idParams = z.object({
  id: z
    .string()
    .min(1)
    .openapi({
      param: { name: 'id', in: 'path' },
      description: 'The delivery id (also sent as the `x-hookbridge-delivery-id` header); percent-encode it',
      example: '0b9f3c1e-4a52-4f0e-9d43-5a3c1f2b7e10:hot-readings:0',
    }),
})

export const listQuery = z
  .object({
    rule: z.string().min(1).optional().openapi({ description: 'Only the dead letters of this rule' }),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(100).openapi({ description: 'Page size' }),
    after: z.string().min(1).optional().openapi({ description: 'The `next` of the previous page' }),
  })
  .strict()

const attemptSchema = z
  .object({
    at: time,
    durationMs: z.number(),
    status: z.number().int().optional().openapi({ description: 'HTTP status, when a response arrived' }),
    code: z.string().optional().openapi({ description: 'Error code from the catalogue' }),
    error: z.string().optional(),
  })
  .openapi('DeliveryAttempt')

const summaryFields = {
  id: z.string(),
  rule: z.string(),
  target: z.string(),
  topic: z.string().openapi({ description: 'The MQTT topic of the original message' }),
  reason: z.string().openapi({ description: 'Why it was dead-lettered' }),
  attempts: z.number().int(),
  createdAt: time,
  deadAt: time,
  payloadBytes: z.number().int().openapi({ description: 'Size of the original MQTT payload' }),
  lastStatus: z.number().int().optional(),
  lastCode: z.string().optional(),
  lastError: z.string().optional(),
}

export const summarySchema = z.object(summaryFields).openapi('DeadLetterSummary')

export const pageSchema = z
  .object({
    items: z.array(summarySchema),
    next: z.string().optional().openapi({ description: 'Pass as `after` for the next page; absent on the last' }),
  })
  .openapi('DeadLetterPage')

export const detailSchema = z
  .object({
    ...summaryFields,
    orderKey: z.string().nullable(),
    message: z.object({
      topic: z.string(),
      qos: z.union([z.literal(0), z.literal(1), z.literal(2)]),
      retain: z.boolean(),
      receivedAt: time,
      properties: z.record(z.string(), z.unknown()).optional().openapi({ description: 'MQTT 5 properties' }),
      payloadBase64: z.string().openapi({ description: 'The original payload, bytes unchanged' }),
      payloadText: z.string().optional().openapi({ description: 'The payload as text, when it is valid UTF-8' }),
    }),
    request: z.object({
      method: z.string(),
      url: z.string().openapi({ description: 'Passwords and secret-looking query parameters are redacted' }),
      headers: z.record(z.string(), z.string()).openapi({
        description: 'Values of authorization, cookie, *token*, *secret*, *signature*, *api-key* headers are redacted',
      }),
      bodyBytes: z.number().int(),
      bodyBase64: z.string(),
      bodyText: z.string().optional(),
    }),
    history: z.array(attemptSchema).openapi({ description: 'Every attempt, oldest first' }),
  })
  .openapi('DeadLetter')

export const selectionSchema = z
  .object({
    ids: z.array(z.string().min(1)).min(1).max(10_000).optional(),
    rule: z.string().min(1).optional(),
    all: z.literal(true).optional().openapi({ description: 'Every dead letter; must be given explicitly' }),
  })
  .strict()
  .refine((s) => [s.ids, s.rule, s.all].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of "ids", "rule" or "all": true',
  })
  .openapi('DeadLetterSelection', { description: 'Exactly one of `ids`, `rule`, `all: true`' })

const notFound = z.array(z.string()).optional().openapi({ description: 'Ids given that are not dead letters' })

export const replayResultSchema = z.object({ replayed: z.number().int(), notFound }).openapi('ReplayResult')
export const purgeResultSchema = z.object({ purged: z.number().int(), notFound }).openapi('PurgeResult')
