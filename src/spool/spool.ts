// The queue between ingest and delivery. Ingest enqueues delivery jobs (and acknowledges the MQTT message
// only once `enqueue` resolves); workers lease due jobs, send them, then complete, retry or dead-letter them.
// Implementations: memory-spool.ts (volatile) and sqlite-spool.ts (durable). Both pass spool.case.ts.

/** The MQTT message a job came from: kept so dead letters hold the original bytes and topic. */
export interface SourceMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  receivedAt: number
  /** MQTT 5 properties as plain JSON (correlation data as base64), when there were any. */
  properties?: Record<string, unknown>
}

/** A fully computed HTTP request, ready to send. */
export interface OutgoingRequest {
  method: string
  url: string
  headers: Record<string, string>
  body: Buffer
}

export interface NewJob {
  /** Stable delivery id: the same for a message and target across retries and restarts. */
  id: string
  rule: string
  /** Which of the rule's targets this job is for (its name or index). */
  target: string
  /** Jobs with the same non-null key (within a rule) are delivered one at a time, in enqueue order. */
  orderKey: string | null
  message: SourceMessage
  request: OutgoingRequest
}

export interface AttemptRecord {
  at: number
  durationMs: number
  /** HTTP status when a response arrived. */
  status?: number
  /** Error code from the catalogue when the attempt failed. */
  code?: string
  error?: string
}

/**
 * How many attempt records a job keeps: the last ones. `attempts` still counts every attempt; the cap keeps a
 * retry O(1) and the stored row small when a receiver stays down for days.
 */
export const HISTORY_LIMIT = 10

export interface Job extends NewJob {
  createdAt: number
  /** Attempts made so far (all of them, also past HISTORY_LIMIT). */
  attempts: number
  /** Earliest time (ms since epoch) the job may be leased again. */
  notBefore: number
  /** The last HISTORY_LIMIT attempts at most, oldest first. */
  history: AttemptRecord[]
}

export interface DeadLetter extends Job {
  deadAt: number
  reason: string
}

export interface DeadLetterQuery {
  rule?: string
  limit?: number
  /** Return dead letters after this id (for paging). */
  after?: string
}

export interface SpoolStats {
  /** Pending jobs, leased ones included. */
  depth: number
  /** Bytes of payload and request held by pending jobs. */
  bytes: number
  leased: number
  deadLetters: number
  /** Pending jobs that have failed at least one attempt (a receiver in trouble). */
  retrying: number
  /** Age of the oldest pending job in ms, 0 when empty. */
  oldestAgeMs: number
}

export interface Spool {
  /** Resolves once the jobs are stored as durably as this spool can store them. */
  enqueue(jobs: readonly NewJob[]): Promise<void>
  /**
   * Up to `limit` jobs that are due at `now` and not leased. For each (rule, orderKey) with a non-null key only
   * the oldest pending job is eligible, and only while no job with that key is leased.
   */
  lease(limit: number, now: number): Job[]
  /** The job was delivered: forget it. */
  complete(id: string): void
  /** Attempt failed, try again at `notBefore`. Releases the lease. */
  retry(id: string, notBefore: number, attempt: AttemptRecord): void
  /** Give up: move the job, with its last attempt, to the dead letters. Releases the lease. */
  deadLetter(id: string, attempt: AttemptRecord, reason: string): void
  /** Release a lease without recording an attempt (shutdown). */
  release(id: string): void
  /** Earliest notBefore among pending unleased jobs, or null when there are none. */
  nextDueAt(): number | null
  stats(now: number): SpoolStats

  listDeadLetters(query?: DeadLetterQuery): DeadLetter[]
  getDeadLetter(id: string): DeadLetter | undefined
  /** Re-queue dead letters (same delivery id, attempts reset). Returns how many were re-queued. */
  replayDeadLetters(ids: readonly string[]): number
  /** Delete dead letters: the given ids, or all of them (optionally of one rule). Returns how many. */
  purgeDeadLetters(ids?: readonly string[], rule?: string): number

  /** Flush pending writes and release resources. */
  close(): Promise<void>
}
