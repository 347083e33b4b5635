// Recording an attempt: the retry policy decides (done, retry when, dead letter), the spool keeps the decision
// with the attempt's record, and listeners (metrics, replies) are told. Used by the worker for each unit it sent
// and for the jobs that shared their origin's refused probe (circuit.ts).
import type { Logger } from '../observability/logger.js'
import type { AttemptRecord, Job, Spool } from '../spool/spool.js'
import { attemptOf } from './batcher.js'
import { type AttemptOutcome, type Decision, decide } from './retry-policy.js'
import type { RetryPolicy } from './retry-schema.js'
import type { SendResult } from './send.js'

export interface DeliveryEvent {
  job: Job
  result: SendResult
  /** What was recorded for this attempt. */
  record: AttemptRecord
  action: 'done' | 'retry' | 'dead'
  reason?: string
}

export interface RecorderOptions {
  spool: Spool
  logger: Logger
  onAttempt?(event: DeliveryEvent): void
  now(): number
  random(): number
}

export interface Recorder {
  /** Records the attempt's outcome on every job of the unit as their retry policy decides. */
  conclude(jobs: readonly Job[], result: SendResult, record: AttemptRecord, mqtt: boolean, policy: RetryPolicy): void
  settle(job: Job, result: SendResult, record: AttemptRecord, decision: Decision): void
}

export function createRecorder(options: RecorderOptions): Recorder {
  const { spool, logger, now, random } = options

  function conclude(
    jobs: readonly Job[],
    result: SendResult,
    record: AttemptRecord,
    mqtt: boolean,
    policy: RetryPolicy,
  ): void {
    let outcome: AttemptOutcome | undefined
    if (result.error) {
      record.code ??= result.error.code
      record.error ??= result.error.message
      outcome = { error: result.error }
    } else if (!mqtt) {
      record.status = result.status
      if (result.status! < 200 || result.status! >= 300) {
        record.code = 'HOOKBRIDGE_DELIVERY_STATUS'
        record.error = `HTTP ${result.status}`
      }
      outcome =
        result.retryAfterMs === undefined
          ? { status: result.status! }
          : { status: result.status!, retryAfterMs: result.retryAfterMs }
    }
    // No outcome to weigh: the broker acknowledged the MQTT job.
    const decision: Decision = outcome ? decide(policy, attemptOf(jobs), outcome, now(), random) : { action: 'done' }
    for (const job of jobs) settle(job, result, record, decision)
  }

  function settle(job: Job, result: SendResult, record: AttemptRecord, decision: Decision): void {
    try {
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          {
            messageId: messageIdOf(job.id),
            deliveryId: job.id,
            rule: job.rule,
            attempt: job.attempts + 1,
            status: record.status,
            code: record.code,
            action: decision.action,
          },
          'delivery attempt',
        )
      }
      if (decision.action === 'done') spool.complete(job.id)
      else if (decision.action === 'retry') spool.retry(job.id, decision.notBefore, record)
      else {
        spool.deadLetter(job.id, record, decision.reason)
        logger.warn(
          { messageId: messageIdOf(job.id), deliveryId: job.id, rule: job.rule, reason: decision.reason },
          'delivery dead-lettered',
        )
      }
    } catch (err) {
      logger.error({ err, deliveryId: job.id }, 'recording the delivery outcome failed')
    }
    const event: DeliveryEvent = { job, result, record, action: decision.action }
    if (decision.action === 'dead') event.reason = decision.reason
    options.onAttempt?.(event)
  }

  return { conclude, settle }
}

/** The message's correlation id: the first part of its delivery id (`<messageId>:<rule>:<target>`). */
export function messageIdOf(deliveryId: string): string {
  const end = deliveryId.indexOf(':')
  return end < 0 ? deliveryId : deliveryId.slice(0, end)
}
