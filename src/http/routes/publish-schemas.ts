// The zod schemas of the publish endpoints: they validate requests and generate /openapi.json.
import { z } from '@hono/zod-openapi'

const qosText = z.enum(['0', '1', '2'])
const booleanText = z.enum(['true', 'false', '1', '0'])
const secondsText = z.string().regex(/^\d{1,10}$/, 'expected a whole number of seconds')

export const topicParams = z.object({
  topic: z.string().openapi({
    param: { name: 'topic', in: 'path' },
    description:
      'The MQTT topic; it may span several path segments (`a/b/c`). Percent-encode `#`, `+`, `?` and `%`. ' +
      'A topic named exactly `batch` can only be published with `POST /v1/publish`.',
    example: 'sensors/kitchen/temperature',
  }),
})

export const rawPublishQuery = z
  .object({
    qos: qosText.optional().openapi({ description: 'QoS 0, 1 or 2 (default 1). Or header `MQTT-QoS`.' }),
    retain: booleanText.optional().openapi({ description: 'Retain flag (default false). Or header `MQTT-Retain`.' }),
    responseTopic: z.string().optional().openapi({ description: 'MQTT 5 response topic. Or `MQTT-Response-Topic`.' }),
    correlationData: z
      .string()
      .optional()
      .openapi({ description: 'MQTT 5 correlation data (UTF-8). Or `MQTT-Correlation-Data`.' }),
    messageExpirySeconds: secondsText
      .optional()
      .openapi({ description: 'MQTT 5 message expiry interval. Or `MQTT-Message-Expiry-Seconds`.' }),
    userProperty: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .openapi({ description: 'MQTT 5 user property `key=value`, repeatable. Or `MQTT-User-Property`.' }),
  })
  .strict()

const idempotencyKey = z
  .string()
  .optional()
  .openapi({ description: 'A repeat with the same key within the window gets the first answer, publishing nothing.' })

const sameAs = (name: string) => ({ description: `Same as the query parameter \`${name}\`` })

export const rawPublishHeaders = z.object({
  'mqtt-qos': qosText.optional().openapi(sameAs('qos')),
  'mqtt-retain': booleanText.optional().openapi(sameAs('retain')),
  'mqtt-response-topic': z.string().optional().openapi(sameAs('responseTopic')),
  'mqtt-correlation-data': z.string().optional().openapi(sameAs('correlationData')),
  'mqtt-message-expiry-seconds': secondsText.optional().openapi(sameAs('messageExpirySeconds')),
  'mqtt-user-property': z.string().optional().openapi({
    description: 'Comma-separated `key=value` pairs; percent-encode `,` `=` and `%` inside keys and values.',
  }),
  'idempotency-key': idempotencyKey,
})

export const jsonPublishHeaders = z.object({ 'idempotency-key': idempotencyKey })

export const propertiesSchema = z
  .object({
    contentType: z.string().optional(),
    responseTopic: z.string().optional(),
    correlationData: z.string().optional().openapi({ description: 'Sent as its UTF-8 bytes' }),
    messageExpirySeconds: z.number().int().min(0).max(4_294_967_295).optional(),
    payloadFormatIndicator: z.boolean().optional().openapi({ description: 'true: the payload is UTF-8 text' }),
    userProperties: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
  })
  .strict()
  .openapi('MqttProperties', { description: 'MQTT 5 properties; refused with 400 on an MQTT 3.1.1 connection' })

export const publishItemSchema = z
  .object({
    topic: z.string().openapi({ example: 'sensors/kitchen/temperature' }),
    payload: z.unknown().openapi({ example: { celsius: 21.5 } }),
    encoding: z.enum(['utf8', 'base64', 'json']).optional().openapi({
      description: 'How `payload` becomes bytes. Default: utf8 for a string, json for anything else.',
    }),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
    retain: z.boolean().default(false),
    properties: propertiesSchema.optional(),
  })
  .strict()
  .superRefine((item, ctx) => {
    if (item.payload === undefined) ctx.addIssue({ code: 'custom', path: ['payload'], message: 'payload is missing' })
    if ((item.encoding === 'utf8' || item.encoding === 'base64') && typeof item.payload !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['payload'], message: `encoding ${item.encoding} needs a string payload` })
    }
    if (item.encoding === 'base64' && typeof item.payload === 'string' && !isBase64(item.payload)) {
      ctx.addIssue({ code: 'custom', path: ['payload'], message: 'payload is not valid base64' })
    }
  })
  .openapi('PublishRequest')

export type PublishItem = z.output<typeof publishItemSchema>

export const batchSchema = z
  .array(publishItemSchema)
  .min(1)
  .openapi('PublishBatchRequest', { description: 'At most api.maxBatchItems items (default 100)' })

export const publishResultSchema = z
  .object({
    topic: z.string(),
    qos: z.number().int(),
    retain: z.boolean(),
    messageId: z.number().int().optional().openapi({ description: 'Packet id (QoS 1 and 2)' }),
    reasonCode: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Reason code of the PUBACK/PUBCOMP (MQTT 5): 0 success, 16 no matching subscribers' }),
  })
  .openapi('PublishResult')

export const batchResultSchema = z
  .object({
    results: z.array(
      z.object({
        status: z.number().int().openapi({ description: 'The status this item would have had on its own' }),
        result: publishResultSchema.optional(),
        error: z.object({ code: z.string(), message: z.string(), reasonCode: z.number().int().optional() }).optional(),
      }),
    ),
  })
  .openapi('PublishBatchResult')

export function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text)
}
