// The configuration: one zod schema, defaults in the schema, the parsed result frozen by the loader.
import { z } from 'zod'
import { apiConfigSchema } from './api-schema.js'

const port = z.coerce.number().int().min(0).max(65535)
const positiveMs = z.coerce.number().int().positive()

export const mqttConfigSchema = z
  .object({
    /** Unset: start the embedded broker and connect to it. */
    url: z.string().url().optional(),
    protocolVersion: z.coerce
      .number()
      .refine((v) => v === 4 || v === 5, 'expected 5 (MQTT 5) or 4 (MQTT 3.1.1)')
      .default(5)
      .transform((v) => v as 4 | 5),
    clientId: z.string().min(1).optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    /** Paths of PEM files for mqtts:// */
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    rejectUnauthorized: z.coerce.boolean().default(true),
    /** How long the broker keeps the session (subscriptions, queued QoS 1/2 messages) while we are away. */
    sessionExpirySec: z.coerce
      .number()
      .int()
      .min(0)
      .default(7 * 24 * 3600),
    keepaliveSec: z.coerce.number().int().min(0).default(30),
    reconnectMinMs: positiveMs.default(250),
    reconnectMaxMs: positiveMs.default(30_000),
    connectTimeoutMs: positiveMs.default(10_000),
  })
  .strict()

export const brokerConfigSchema = z
  .object({
    port: port.default(1883),
    /** The embedded broker listens on loopback unless told otherwise: it has no authentication. */
    host: z.string().default('127.0.0.1'),
  })
  .strict()

export const deliveryConfigSchema = z
  .object({
    /** In-flight HTTP requests per origin (scheme://host:port). */
    concurrencyPerOrigin: z.coerce.number().int().positive().default(16),
    /** In-flight HTTP requests in all. */
    maxInFlight: z.coerce.number().int().positive().default(256),
    /** Default per-request timeout; a rule's `to.timeoutMs` overrides it. */
    timeoutMs: positiveMs.default(10_000),
    /** How long shutdown waits for in-flight requests. */
    shutdownGraceMs: positiveMs.default(10_000),
  })
  .strict()

export const spoolConfigSchema = z
  .object({
    /**
     * durable: jobs are committed to SQLite in dataDir before the broker gets its acknowledgement.
     * memory: jobs live in memory only; faster, but a crash loses what was not yet delivered.
     */
    mode: z.enum(['durable', 'memory']).default('durable'),
    /** Past this many bytes of pending jobs, hookbridge stops acknowledging: the broker holds the messages. */
    maxBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(1024 * 1024 * 1024),
    /** Past this many pending jobs, the same. */
    maxJobs: z.coerce.number().int().positive().default(5_000_000),
    /**
     * How long an enqueue may wait to share a commit with others. Delivery does not wait for the commit (only the
     * broker's acknowledgement does), and a job delivered within this time is never written.
     */
    groupCommitMs: z.coerce.number().min(0).max(100).default(10),
    /**
     * Durable spool: how long a new message's jobs may wait in memory for their delivery before they are written,
     * while no delivery is being retried. Delivered within it, they are never written, and the message is
     * acknowledged then (until then the broker holds it): far fewer disk writes (flash storage), and fewer repeats
     * after a crash, for about 7-9% less burst throughput. 0 (the default): every message is written at the next
     * group commit, unless it was delivered before.
     */
    deferWriteMs: z.coerce.number().int().min(0).max(60_000).default(0),
    /**
     * Durable spool: pending jobs held in memory (the oldest) while deliveries succeed; the rest stay in the file
     * until there is room. While jobs in memory are being retried, at most 5,000 (or this, if lower).
     */
    windowJobs: z.coerce.number().int().min(10).default(50_000),
    /** Durable spool: the same bound in bytes of payload, request body and headers. */
    windowBytes: z.coerce
      .number()
      .int()
      .min(64 * 1024)
      .default(32 * 1024 * 1024),
  })
  .strict()

export const limitsConfigSchema = z
  .object({
    /** Larger payloads are not parsed: a rule that matches them dead-letters them (HOOKBRIDGE_PAYLOAD_TOO_LARGE). */
    maxPayloadBytes: z.coerce
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** Wall time of one JSONata evaluation (when, transform, orderBy, templates). */
    expressionTimeoutMs: z.coerce.number().int().positive().default(250),
    /** Evaluation depth of one JSONata evaluation (runaway recursion). */
    expressionMaxDepth: z.coerce.number().int().positive().default(300),
    /** Longest sequence one JSONata evaluation may build (e.g. a huge range). */
    expressionMaxSequence: z.coerce.number().int().positive().default(100_000),
  })
  .strict()

export const configSchema = z
  .object({
    mqtt: mqttConfigSchema.default(mqttConfigSchema.parse({})),
    broker: brokerConfigSchema.default(brokerConfigSchema.parse({})),
    api: apiConfigSchema.default(apiConfigSchema.parse({})),
    rules: z.string().min(1).default('./rules'),
    dataDir: z.string().min(1).default('./data'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    delivery: deliveryConfigSchema.default(deliveryConfigSchema.parse({})),
    spool: spoolConfigSchema.default(spoolConfigSchema.parse({})),
    limits: limitsConfigSchema.default(limitsConfigSchema.parse({})),
  })
  .strict()

export type Config = z.output<typeof configSchema>
export type MqttConfig = Config['mqtt']

/** The JSONata guardrails of a config, in the shape the transform layer takes. */
export function expressionLimitsOf(config: Pick<Config, 'limits'>) {
  return {
    timeoutMs: config.limits.expressionTimeoutMs,
    maxDepth: config.limits.expressionMaxDepth,
    maxSequence: config.limits.expressionMaxSequence,
  }
}
