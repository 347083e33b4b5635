// The `api:` section of the config file: where the HTTP API listens, who may use it, and its limits.
// `${env:NAME}` references and HOOKBRIDGE_HTTP_PORT / HOOKBRIDGE_HTTP_HOST are resolved by the loader before this.
import { createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { z } from 'zod'
import { HookbridgeError } from '../errors.js'
import { parseFilter } from '../topics/filter.js'

const positiveInt = z.coerce.number().int().positive()

const tokenFilter = z.string().superRefine((source, ctx) => {
  try {
    const parsed = parseFilter(source)
    if (parsed.shareGroup !== undefined)
      ctx.addIssue({ code: 'custom', message: 'a token filter cannot be $share/...' })
    else if (parsed.params.length > 0) {
      ctx.addIssue({ code: 'custom', message: 'a token filter takes plain "+" and "#", not named wildcards' })
    }
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
  }
})

export const apiTokenSchema = z
  .object({
    /** Shown in logs and errors; never the secret. */
    name: z.string().min(1),
    /** The secret itself, usually `${env:NAME}`. */
    token: z.string().min(16, 'use at least 16 characters, e.g. the output of `openssl rand -hex 32`').optional(),
    /** Hex SHA-256 of the secret, so the file holds no secret at all. */
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex characters (e.g. from `printf %s "$TOKEN" | sha256sum`)')
      .optional(),
    /** Topic filters this token may publish to. */
    publish: z.array(tokenFilter).default([]),
    /** Topic filters this token may subscribe to (GET /v1/subscribe). */
    subscribe: z.array(tokenFilter).default([]),
    /** May use the dead letters (/v1/dlq): list, show, replay, purge. Absent means false. */
    admin: z.boolean().optional(),
  })
  .strict()
  .refine((t) => (t.token === undefined) !== (t.sha256 === undefined), {
    message: 'give exactly one of "token" and "sha256"',
  })

export const apiConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    tokens: z
      .array(apiTokenSchema)
      .default([])
      .superRefine((tokens, ctx) => {
        const names = new Set<string>()
        const secrets = new Set<string>()
        for (const [i, t] of tokens.entries()) {
          if (names.has(t.name))
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate name "${t.name}"` })
          names.add(t.name)
          const digest = tokenDigest(t).toString('hex')
          if (secrets.has(digest)) {
            ctx.addIssue({ code: 'custom', path: [i], message: 'the same secret is given to another token' })
          }
          secrets.add(digest)
        }
      }),
    /** Largest request body accepted, chunked or not. */
    maxBodyBytes: positiveInt.default(256 * 1024),
    /** How long a publish waits for the broker's PUBACK / PUBCOMP before answering "unconfirmed". */
    requestTimeoutMs: positiveInt.default(10_000),
    /** POST /v1/request: how long to wait for the reply, by default and at most (`?timeoutMs=` may ask for less). */
    requestReplyTimeoutMs: positiveInt.default(10_000),
    /** A repeated Idempotency-Key within this window gets the first answer and publishes nothing. */
    idempotencyWindowMs: positiveInt.default(10 * 60_000),
    /** Most keys remembered at once; the oldest are forgotten first. */
    idempotencyMaxKeys: positiveInt.default(10_000),
    /** Per-token limit (token bucket). Absent: no limit. */
    rateLimit: z
      .object({
        requestsPerSecond: z.coerce.number().positive(),
        /** Requests allowed at once after a quiet period; defaults to requestsPerSecond (at least 1). */
        burst: positiveInt.optional(),
      })
      .strict()
      .optional(),
    /** Allow publishing to and subscribing to topics starting with '$' (e.g. $SYS). */
    allowDollarTopics: z.boolean().default(false),
    /** Most items in one POST /v1/publish/batch. */
    maxBatchItems: positiveInt.default(100),
    sse: z
      .object({
        /** Messages queued for one slow reader before the oldest are skipped (and the reader told). */
        maxBufferedMessages: positiveInt.default(1000),
        /** Open subscribe streams in all. */
        maxStreams: positiveInt.default(100),
        /** Interval of the keep-alive comment that stops proxies from closing an idle stream. */
        heartbeatMs: positiveInt.default(15_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()

export type ApiConfig = z.output<typeof apiConfigSchema>
export type ApiToken = ApiConfig['tokens'][number]

/** The SHA-256 of a token's secret, which is what requests are compared against. */
export function tokenDigest(token: Pick<ApiToken, 'token' | 'sha256'>): Buffer {
  if (token.sha256 !== undefined) return Buffer.from(token.sha256, 'hex')
  return createHash('sha256')
    .update(token.token ?? '')
    .digest()
}

/** 127.0.0.0/8, ::1, localhost and IPv4-mapped loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost' || h === '::1') return true
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h
  return isIP(v4) === 4 && v4.startsWith('127.')
}

/** Without tokens the API is open to whoever can connect: only loopback may be bound then. */
export function assertSafeBinding(config: Pick<ApiConfig, 'host' | 'tokens'>): void {
  if (config.tokens.length === 0 && !isLoopbackHost(config.host)) {
    throw new HookbridgeError('HOOKBRIDGE_HTTP_UNSAFE_BINDING', { host: config.host })
  }
}
