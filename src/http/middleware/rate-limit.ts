// Requests per token as a token bucket (api.rateLimit); over the limit: 429 with Retry-After. Off when unset.
import type { MiddlewareHandler } from 'hono'
import type { ApiConfig } from '../../config/api-schema.js'
import { HookbridgeError } from '../../errors.js'
import type { AppEnv } from '../app.js'

export interface TokenBucket {
  /** Takes one request; returns 0 when allowed, else the milliseconds until one would be. */
  take(nowMs: number): number
}

export function createTokenBucket(requestsPerSecond: number, burst: number, nowMs: number): TokenBucket {
  let tokens = burst
  let last = nowMs
  return {
    take(now) {
      tokens = Math.min(burst, tokens + ((now - last) / 1000) * requestsPerSecond)
      last = now
      if (tokens >= 1) {
        tokens -= 1
        return 0
      }
      return Math.ceil(((1 - tokens) / requestsPerSecond) * 1000)
    },
  }
}

export function createRateLimit(
  config: ApiConfig['rateLimit'],
  now: () => number = () => performance.now(),
): MiddlewareHandler<AppEnv> {
  if (config === undefined) return async (_c, next) => next()
  const { requestsPerSecond } = config
  const burst = config.burst ?? Math.max(1, Math.ceil(requestsPerSecond))
  // One bucket per configured token (plus 'anonymous'): the map cannot grow past the config.
  const buckets = new Map<string, TokenBucket>()
  return async (c, next) => {
    const token = c.get('principal').name
    let bucket = buckets.get(token)
    if (bucket === undefined) {
      bucket = createTokenBucket(requestsPerSecond, burst, now())
      buckets.set(token, bucket)
    }
    const waitMs = bucket.take(now())
    if (waitMs > 0) {
      const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000))
      throw new HookbridgeError('HOOKBRIDGE_RATE_LIMITED', { token, requestsPerSecond, burst, retryAfterSeconds })
    }
    return next()
  }
}
