// The parts of an inbound hook rule (`from: { hook: ... }`, `publish:`): an HTTP path instead of an MQTT filter,
// how the sender is verified, and the MQTT message to publish. schema.ts puts them together into the rule.
import { z } from 'zod'

/** A hook name is one URL path segment: letters, digits, ".", "_", "-". */
export const hookNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

const secret = z.string().min(1).describe('Usually ${env:NAME}, resolved when the rules are loaded')

export const hookVerifySchema = z
  .object({
    standardWebhooks: z
      .object({
        secrets: z
          .array(secret)
          .min(1)
          .describe(
            '"whsec_<base64>" (decoded), or any other text used as the key bytes; a signature made with any of them is accepted (rotation)',
          ),
      })
      .strict()
      .optional()
      .describe('Standard Webhooks: webhook-id, webhook-timestamp (within 5 minutes) and webhook-signature headers'),
    githubHmac: z
      .object({ secret })
      .strict()
      .optional()
      .describe('GitHub style: X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>'),
    bearer: z
      .object({ token: secret })
      .strict()
      .optional()
      .describe('Authorization: Bearer <token>, compared in constant time'),
    none: z.literal(true).optional().describe('No verification: anyone who can reach the URL may publish'),
  })
  .strict()
  .refine((verify) => Object.keys(verify).length === 1, {
    message: 'give exactly one of standardWebhooks, githubHmac, bearer or none: true',
  })
  .meta({ description: 'How the sender is verified; exactly one method', minProperties: 1, maxProperties: 1 })

export const hookSourceSchema = z
  .object({
    hook: z
      .object({
        name: z
          .string()
          .regex(hookNamePattern, 'expected letters, digits, ".", "_" or "-", starting with a letter or digit')
          .optional()
          .describe('The URL is POST /v1/hooks/<name>; defaults to the rule name'),
        verify: hookVerifySchema,
        maxBodyBytes: z
          .number()
          .int()
          .positive()
          .optional()
          .describe('Largest request body accepted; defaults to api.maxBodyBytes'),
      })
      .strict()
      .describe('An inbound webhook: POST /v1/hooks/<name>'),
  })
  .strict()

export const hookPublishSchema = z
  .object({
    topic: z
      .string()
      .min(1)
      .describe('Topic template: {expression} parts see the request (body, headers, query, ...) and `result`'),
    qos: z.literal([0, 1, 2]).default(1),
    retain: z.boolean().default(false),
    properties: z
      .object({
        contentType: z
          .string()
          .min(1)
          .optional()
          .describe('Template; default: application/json after a transform, else the request Content-Type'),
        userProperties: z.record(z.string().min(1), z.string()).optional().describe('Values are templates'),
        messageExpiryInterval: z
          .number()
          .int()
          .min(0)
          .max(2 ** 32 - 1)
          .optional()
          .describe('Seconds'),
      })
      .strict()
      .optional()
      .describe('MQTT 5 properties (refused on an MQTT 3.1.1 connection)'),
  })
  .strict()
  .describe('The MQTT message each accepted request becomes; answered 2xx only after the broker acknowledged it')

/** Whether a rule as written (before validation) is meant as a hook rule: `from` holds `hook`. */
export function isHookRuleInput(rule: unknown): boolean {
  const from = (rule as { from?: unknown } | null)?.from
  return typeof from === 'object' && from !== null && !Array.isArray(from) && 'hook' in from
}
