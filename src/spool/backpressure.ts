// Backpressure: past the spool's size limits, intake waits (QoS 1/2 acknowledgements are held back, so the broker
// keeps the messages) until delivery has made room. Nothing is dropped; a log line and the state say so.
import type { Logger } from '../observability/logger.js'
import type { Spool } from './spool.js'

export interface BackpressureLimits {
  maxBytes: number
  maxJobs: number
}

export interface Backpressure {
  /**
   * Resolves when there is room for `jobs` more, and reserves it until `release(jobs)`: enqueues that are called
   * but not yet committed count too, so a burst of pipelined messages cannot overshoot the limit.
   */
  waitForRoom(jobs: number): Promise<void>
  /** Reserves room for `jobs` more if there is room now (as waitForRoom would at once); false if not. */
  tryReserve(jobs: number): boolean
  release(jobs: number): void
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
  let reserved = 0
  let waiters: Array<() => void> = []
  let timer: NodeJS.Timeout | undefined

  const full = (adding: number) => {
    const stats = spool.stats(now())
    return stats.bytes >= limits.maxBytes || stats.depth + reserved + adding > limits.maxJobs
  }

  function pause(): void {
    if (paused) return
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

  function check(): void {
    if (!paused || full(1)) return
    paused = false
    if (timer) clearInterval(timer)
    timer = undefined
    logger.info('spool below its limits again: intake resumed')
    const wake = waiters
    waiters = []
    for (const resolve of wake) resolve()
  }

  return {
    async waitForRoom(jobs) {
      // Callers come one at a time (ingest stores in arrival order), so a woken caller re-checks for itself.
      while (full(jobs)) {
        pause()
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
      reserved += jobs
    },
    tryReserve(jobs) {
      if (full(jobs)) return false
      reserved += jobs
      return true
    },
    release(jobs) {
      reserved = Math.max(0, reserved - jobs)
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
