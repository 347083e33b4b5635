// The parts of a rule's `to:` that go beyond one plain webhook: Standard Webhooks signing, CloudEvents output,
// replies into MQTT (per HTTP target), and the MQTT target that republishes instead of calling a webhook.
import { z } from 'zod'

const qos = z.literal([0, 1, 2])

export const signSchema = z
  .object({
    secrets: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        'Standard Webhooks secrets, e.g. ${env:WEBHOOK_SECRET}: "whsec_<base64>", or any other text used as the key bytes. Several sign at once (rotation).',
      ),
  })
  .strict()
  .describe('Sign each attempt (webhook-id, webhook-timestamp, webhook-signature headers)')

export const cloudEventsSchema = z
  .object({
    mode: z
      .enum(['binary', 'structured'])
      .describe('binary: ce-* headers, body unchanged; structured: a JSON envelope'),
    type: z.string().min(1).default('hookbridge.message').describe('Template of the event type'),
    source: z.string().min(1).optional().describe('Template of the event source; default /hookbridge/<rule>'),
  })
  .strict()
  .describe('Send each delivery as a CloudEvent 1.0')

export const replySchema = z
  .object({
    topic: z
      .string()
      .min(1)
      .optional()
      .describe('Topic template, e.g. devices/{params.device}/ack; default: the MQTT 5 response topic of the message'),
    qos: qos.default(1),
    retain: z.boolean().default(false),
    transform: z
      .string()
      .min(1)
      .optional()
      .describe('JSONata over { status, headers, body, request }: the JSON reply; default: the response body as is'),
    onStatus: z
      .enum(['success', 'any'])
      .default('success')
      .describe('success: reply to 2xx only (others take the retry path); any: reply to every response'),
  })
  .strict()
  .describe("Publish the webhook's response into MQTT")

export const mqttTargetSchema = z
  .object({
    mqtt: z
      .object({
        topic: z.string().min(1).describe('Topic template, e.g. processed/{params.device}'),
        qos: qos.default(1),
        retain: z.boolean().default(false),
        properties: z
          .object({
            contentType: z.string().min(1).optional().describe('Template'),
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
          .describe('MQTT 5 properties of the republished message'),
      })
      .strict(),
  })
  .strict()
  .describe('Republish into MQTT instead of calling a webhook')

export type MqttTargetDefinition = z.output<typeof mqttTargetSchema>
export type ReplyDefinition = z.output<typeof replySchema>
