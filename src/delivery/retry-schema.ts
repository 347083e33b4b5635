// The `retry:` block of a rule file: how failed deliveries are retried and when they are dead-lettered.
// Defaults live here; retry-policy.ts applies the parsed result.
import { z } from 'zod'

const HOUR_MS = 3_600_000

// Only final, non-2xx statuses can be overridden: 1xx never ends an attempt and 2xx always means delivered.
const overridableStatus = z
  .number()
  .int()
  .min(300, 'must be an HTTP status from 300 to 599')
  .max(599, 'must be an HTTP status from 300 to 599')

export const retryPolicySchema = z
  .object({
    /** Delay before the second attempt. */
    initialDelayMs: z.number().int().positive().default(500),
    /** Cap on the exponential backoff. */
    maxDelayMs: z.number().int().positive().default(60_000),
    multiplier: z.number().min(1).default(2),
    /** Fraction of each delay that is random: 0 = none, 1 = full jitter (uniform between 0 and the delay). */
    jitter: z.number().min(0).max(1).default(0.2),
    // We promise at least once, so the default is not a count (12 attempts of 0.5 s..60 s is over in ~7 minutes,
    // shorter than most receiver outages) but a time budget: retry for up to a day, like AWS EventBridge.
    // With the default backoff that is ~1,400 attempts. 0 means no limit on the count.
    maxAttempts: z.number().int().min(0).default(0),
    /** No attempt is made later than this after the message was received. */
    maxAgeMs: z
      .number()
      .int()
      .positive()
      .default(24 * HOUR_MS),
    /** Statuses to retry although they are normally dead-lettered, e.g. 404 while a receiver deploys, or 409. */
    retryOn: z.array(overridableStatus).default([]),
    /** Statuses to dead-letter at once although they are normally retried, e.g. 501. */
    deadLetterOn: z.array(overridableStatus).default([]),
    /** Wait at least as long as a 429 or 503 response's Retry-After asks. */
    honorRetryAfter: z.boolean().default(true),
    /** Cap on a server's Retry-After, so one bad header cannot park a delivery for days. */
    maxRetryAfterMs: z.number().int().min(0).default(HOUR_MS),
  })
  .strict()
  .refine((p) => p.initialDelayMs <= p.maxDelayMs, {
    message: 'initialDelayMs must not be greater than maxDelayMs',
    path: ['initialDelayMs'],
  })
  .refine((p) => !p.retryOn.some((status) => p.deadLetterOn.includes(status)), {
    message: 'a status cannot be in both retryOn and deadLetterOn',
    path: ['retryOn'],
  })

export type RetryPolicy = z.output<typeof retryPolicySchema>

// A rule without a `retry:` block gets these: embed as `retry: retryPolicySchema.prefault({})` (zod 4's `.default()`
// would skip parsing and hand out this shared object).
const parsedDefaults = retryPolicySchema.parse({})
Object.freeze(parsedDefaults.retryOn)
Object.freeze(parsedDefaults.deadLetterOn)
export const defaultRetryPolicy: RetryPolicy = Object.freeze(parsedDefaults)
