// Backpressure: past the spool's size limits, intake waits (QoS 1/2 acknowledgements are held back, so the broker
// keeps the messages) until delivery has made room. Nothing is dropped; a log line and the state say so.
import type { Logger } from '../observability/logger.js'
import type { Spool } from './spool.js'

export interface BackpressureLimits {
  maxBytes: number
  maxJobs: number
}

export interface Backpressure {
  /** Resolves at once when there is room, else when there is. */
  waitForRoom(): Promise<void>
  /** Delivery made progress: look again. */
  check(): void
  readonly paused: boolean
  /** Times intake was paused since start. */
  readonly pauses: number
}

export function createBackpressure(
  spool: Spool,
  limits: BackpressureLimits,
  logger: Logger,
  now = Date.now,
): Backpressure {
  let paused = false
  let pauses = 0
  let waiters: Array<() => void> = []
  let timer: NodeJS.Timeout | undefined

  const full = () => {
    const stats = spool.stats(now())
    return stats.bytes >= limits.maxBytes || stats.depth >= limits.maxJobs
  }

  function check(): void {
    if (!paused || full()) return
    paused = false
    if (timer) clearInterval(timer)
    timer = undefined
    logger.info('spool below its limits again: intake resumed')
    const release = waiters
    waiters = []
    for (const resolve of release) resolve()
  }

  return {
    waitForRoom() {
      if (!paused) {
        if (!full()) return Promise.resolve()
        paused = true
        pauses++
        const stats = spool.stats(now())
        logger.warn(
          { depth: stats.depth, bytes: stats.bytes, maxJobs: limits.maxJobs, maxBytes: limits.maxBytes },
          'spool full: intake paused, the broker holds new messages until deliveries make room',
        )
        // Deliveries call check(); the interval also covers room made by a dead-letter purge or a replay.
        timer = setInterval(check, 100)
        timer.unref()
      }
      return new Promise<void>((resolve) => waiters.push(resolve))
    },
    check,
    get paused() {
      return paused
    },
    get pauses() {
      return pauses
    },
  }
}
