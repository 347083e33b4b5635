// What to do after one delivery attempt: done, retry at a given time, or dead-letter with a reason.
// Pure: time and randomness come in as arguments; the worker applies the decision to the spool.
import type { HookbridgeError } from '../errors.js'
import type { RetryPolicy } from './retry-schema.js'

export type AttemptOutcome = { status: number; retryAfterMs?: number } | { error: HookbridgeError }

export type Decision =
  | { action: 'done' }
  | { action: 'retry'; notBefore: number; delayMs: number }
  | { action: 'dead'; reason: string }

export interface JobProgress {
  /** Attempts made, including the one whose outcome is being decided. */
  attempts: number
  /** When the message was received (ms since epoch): the start of the maxAgeMs budget. */
  createdAt: number
}

/** Statuses whose Retry-After header is a request to wait (RFC 9110 section 10.2.3). */
const RETRY_AFTER_STATUSES = new Set([429, 503])

export function classify(policy: RetryPolicy, outcome: AttemptOutcome): 'done' | 'retry' | 'dead' {
  // An error's retry meaning is carried by its catalogue code (timeouts and connection errors are retryable).
  if ('error' in outcome) return outcome.error.retryable ? 'retry' : 'dead'
  const { status } = outcome
  if (status >= 200 && status < 300) return 'done'
  if (policy.deadLetterOn.includes(status)) return 'dead'
  if (policy.retryOn.includes(status)) return 'retry'
  if (status === 408 || status === 429 || (status >= 500 && status < 600)) return 'retry'
  return 'dead'
}

/**
 * The delay after `attempt` attempts (1-based): initialDelayMs * multiplier^(attempt-1), capped at maxDelayMs,
 * of which the `jitter` fraction is random. `random` returns [0, 1), like Math.random.
 */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const exponent = Math.max(0, attempt - 1)
  // Infinity for large exponents is fine: the cap takes over.
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** exponent)
  return Math.round(base * (1 - policy.jitter * random()))
}

export function decide(
  policy: RetryPolicy,
  job: JobProgress,
  outcome: AttemptOutcome,
  now: number,
  random: () => number = Math.random,
): Decision {
  const kind = classify(policy, outcome)
  if (kind === 'done') return { action: 'done' }
  if (kind === 'dead') return { action: 'dead', reason: notRetried(outcome) }

  if (policy.maxAttempts > 0 && job.attempts >= policy.maxAttempts) {
    return { action: 'dead', reason: `gave up after ${plural(job.attempts, 'attempt')}: ${describe(outcome)}` }
  }

  let delayMs = backoffMs(policy, job.attempts, random)
  if (
    policy.honorRetryAfter &&
    'status' in outcome &&
    outcome.retryAfterMs !== undefined &&
    RETRY_AFTER_STATUSES.has(outcome.status)
  ) {
    // The cap applies to the server's request, never shortening our own backoff.
    delayMs = Math.max(delayMs, Math.min(outcome.retryAfterMs, policy.maxRetryAfterMs))
  }

  const notBefore = now + delayMs
  const deadline = job.createdAt + policy.maxAgeMs
  if (notBefore > deadline) {
    return {
      action: 'dead',
      reason:
        `gave up after ${plural(job.attempts, 'attempt')} over ${formatDuration(now - job.createdAt)}` +
        ` (limit ${formatDuration(policy.maxAgeMs)}): ${describe(outcome)}`,
    }
  }
  return { action: 'retry', notBefore, delayMs }
}

function describe(outcome: AttemptOutcome): string {
  if ('error' in outcome) return `${outcome.error.code}: ${outcome.error.message}`
  return `HTTP ${outcome.status}`
}

function notRetried(outcome: AttemptOutcome): string {
  if ('error' in outcome) return `${outcome.error.code} is not retried: ${outcome.error.message}`
  return `HTTP ${outcome.status} is not retried`
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

/** 1500 -> "1.5s", 90_000 -> "1m30s", 86_400_000 -> "24h". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`
  const totalSeconds = Math.round(ms / 1000)
  const hours = Math.floor(totalSeconds / 3600)
  const minutes = Math.floor((totalSeconds % 3600) / 60)
  const seconds = totalSeconds % 60
  const parts = [hours ? `${hours}h` : '', minutes ? `${minutes}m` : '', seconds ? `${seconds}s` : '']
  return parts.join('')
}
