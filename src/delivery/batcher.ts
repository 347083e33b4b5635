// Batching per target: leased jobs of a target with `batch` wait here, grouped by (rule, target, method, url),
// until a group holds maxMessages jobs or maxBytes of bodies, or maxWaitMs has passed since its first job. The
// group then goes back to the worker as one unit, sent as one request built by batchRequest().
import { HookbridgeError } from '../errors.js'
import type { Job, OutgoingRequest } from '../spool/spool.js'
import { type CompiledExpression, evaluateFor } from '../transform/jsonata.js'
import { isMqttRequest } from './mqtt-target.js'

export interface BatchSettings {
  maxMessages: number
  /** Sum of the jobs' request bodies. */
  maxBytes: number
  maxWaitMs: number
  /** JSONata over the array of bodies; its result is the request body. Without it the array is. */
  aggregate?: CompiledExpression
}

/** What the worker sends as one request: a lone job (no settings), or a batch of jobs. */
export interface DeliveryUnit {
  jobs: Job[]
  batch?: BatchSettings
}

export interface BatcherOptions {
  /** Called with a full or expired batch; the jobs keep their leases until the worker records an outcome. */
  flush(jobs: Job[], settings: BatchSettings): void
}

export interface Batcher {
  /** Take the job into a batch; false when it is to be sent alone (no settings, an ordered job, an MQTT job). */
  offer(job: Job, settings: BatchSettings | undefined): boolean
  /** Send every waiting batch now (the worker cannot lease more jobs while they hold leases). */
  flushAll(): void
  /** Take back every waiting job without sending it (shutdown); their timers are cleared. */
  drain(): Job[]
  /** Jobs waiting in batches. */
  readonly pending: number
}

interface OpenBatch {
  jobs: Job[]
  bytes: number
  settings: BatchSettings
  timer: NodeJS.Timeout
}

export function createBatcher(options: BatcherOptions): Batcher {
  const open = new Map<string, OpenBatch>()
  let pending = 0

  function flush(key: string): void {
    const batch = open.get(key)
    if (!batch) return
    open.delete(key)
    clearTimeout(batch.timer)
    pending -= batch.jobs.length
    options.flush(batch.jobs, batch.settings)
  }

  return {
    offer(job, settings) {
      // An ordered job (orderKey set) is leased only once the one before it with its key is done, so a batch could
      // never hold two of them: it is sent alone at once rather than wait maxWaitMs for company.
      if (!settings || job.orderKey !== null || isMqttRequest(job.request)) return false
      // Keyed by URL too: a computed URL makes one batch per distinct URL.
      const key = JSON.stringify([job.rule, job.target, job.request.method, job.request.url])
      const size = job.request.body.length
      const current = open.get(key)
      if (current && current.bytes + size > settings.maxBytes) flush(key)
      let batch = open.get(key)
      if (!batch) {
        batch = { jobs: [], bytes: 0, settings, timer: setTimeout(() => flush(key), settings.maxWaitMs) }
        open.set(key, batch)
      }
      batch.jobs.push(job)
      batch.bytes += size
      pending++
      if (batch.jobs.length >= settings.maxMessages || batch.bytes >= settings.maxBytes) flush(key)
      return true
    },
    flushAll() {
      for (const key of [...open.keys()]) flush(key)
    },
    drain() {
      const jobs: Job[] = []
      for (const batch of open.values()) {
        clearTimeout(batch.timer)
        jobs.push(...batch.jobs)
      }
      open.clear()
      pending = 0
      return jobs
    },
    get pending() {
      return pending
    },
  }
}

const replacedHeaders = new Set([
  'content-length',
  'content-type',
  'x-hookbridge-delivery-id',
  'x-hookbridge-batch-size',
])

/** The delivery id of a batch: stable for the same jobs, so a receiver can tell a retried batch. */
export function batchIdOf(jobs: readonly Job[]): string {
  return `${jobs[0]!.id}+${jobs.length}`
}

/** A batch is one attempt for all its jobs, weighed as its most tried and oldest job: none outlives its policy. */
export function attemptOf(jobs: readonly Job[]): { attempts: number; createdAt: number } {
  let attempts = 0
  let createdAt = Number.POSITIVE_INFINITY
  for (const job of jobs) {
    attempts = Math.max(attempts, job.attempts + 1)
    createdAt = Math.min(createdAt, job.createdAt)
  }
  return { attempts, createdAt }
}

/** Each job's body as JSON: parsed when it is JSON, else `{ "base64": ... }`. */
export function batchItems(jobs: readonly Job[]): unknown[] {
  return jobs.map(({ request }) => {
    const text = request.body.toString('utf8')
    try {
      return JSON.parse(text) as unknown
    } catch {
      return { base64: request.body.toString('base64') }
    }
  })
}

/**
 * One request for the batch: the first job's method, URL and headers, a JSON body (the array of items, or the
 * aggregate's result over it; no result sends `null`). Throws HOOKBRIDGE_TRANSFORM_FAILED when the aggregate fails.
 */
export async function batchRequest(jobs: readonly Job[], settings: BatchSettings): Promise<OutgoingRequest> {
  const first = jobs[0]!
  const items = batchItems(jobs)
  const value = settings.aggregate ? await evaluateFor(first.rule, 'batch.aggregate', settings.aggregate, items) : items
  const headers: Record<string, string> = {}
  for (const [name, v] of Object.entries(first.request.headers)) {
    if (!replacedHeaders.has(name.toLowerCase())) headers[name] = v
  }
  headers['content-type'] = 'application/json'
  headers['x-hookbridge-batch-size'] = String(jobs.length)
  headers['x-hookbridge-delivery-id'] = batchIdOf(jobs)
  return {
    method: first.request.method,
    url: first.request.url,
    headers,
    body: Buffer.from(JSON.stringify(value ?? null), 'utf8'),
  }
}

/** The request to send for a unit of the worker: a lone job as spooled, a batch built by batchRequest(). */
export async function requestOf(
  jobs: readonly Job[],
  settings: BatchSettings | undefined,
): Promise<{ id: string; request: OutgoingRequest } | { id: string; error: HookbridgeError }> {
  if (!settings) return { id: jobs[0]!.id, request: jobs[0]!.request }
  const id = batchIdOf(jobs)
  try {
    return { id, request: await batchRequest(jobs, settings) }
  } catch (err) {
    const error =
      err instanceof HookbridgeError
        ? err
        : new HookbridgeError('HOOKBRIDGE_TRANSFORM_FAILED', {
            rule: jobs[0]!.rule,
            stage: 'batch',
            detail: String(err),
          })
    return { id, error }
  }
}
