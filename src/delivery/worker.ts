// Workers: lease due jobs from the spool, send each (bounded per origin and in all), then complete, retry or
// dead-letter it as the rule's retry policy decides. Event driven: woken by new jobs, by finished requests and
// by a timer for the next retry that falls due.

import type { HookbridgeError } from '../errors.js'
import type { Logger } from '../observability/logger.js'
import type { AttemptRecord, Job, OutgoingRequest, Spool } from '../spool/spool.js'
import { UNPREPARED } from '../transform/prepare.js'
import { type BatchSettings, createBatcher, requestOf, type DeliveryUnit as Unit } from './batcher.js'
import { createCircuits } from './circuit.js'
import { isMqttRequest, type PublishFunction, publishJob } from './mqtt-target.js'
import { createRecorder, type DeliveryEvent } from './outcome.js'
import type { Decision } from './retry-policy.js'
import { defaultRetryPolicy, type RetryPolicy } from './retry-schema.js'
import type { Sender, SendResult } from './send.js'
import { signRequest } from './sign.js'

export interface DeliveryTarget {
  retry: RetryPolicy
  timeoutMs: number
  /** Standard Webhooks keys of an HTTP target: each attempt is signed with a fresh timestamp. */
  signingKeys?: readonly Uint8Array[]
  /** For an MQTT target: the rule's filter that a topic would loop back through, if any. */
  loopingFilter?(topic: string): string | undefined
  /** An HTTP target's batching: its jobs are sent together (see batcher.ts). */
  batch?: BatchSettings
}

export { messageIdOf } from './outcome.js'
export type { DeliveryEvent }

export interface WorkerOptions {
  spool: Spool
  sender: Sender
  /** Publishes the jobs of MQTT targets (method MQTT, see mqtt-target.ts); without it they are retried. */
  publish?: PublishFunction
  logger: Logger
  /** Retry policy and timeout for a job's rule and target (the rule may have been reloaded or removed). */
  targetOf(job: Job): DeliveryTarget | undefined
  defaultTimeoutMs: number
  maxInFlight: number
  concurrencyPerOrigin: number
  /** Computes again the request of a job that failed at intake (see UNPREPARED in transform/prepare.ts). */
  reprepare?(job: Job): Promise<{ request: OutgoingRequest } | { error: HookbridgeError } | { skipped: true }>
  /** Told about each attempt (metrics, replies). */
  onAttempt?(event: DeliveryEvent): void
  /** How often an origin that refuses connections is tried while its jobs wait (circuit.ts). Default 1000. */
  probeIntervalMs?: number
  now?: () => number
  random?: () => number
}

export interface DeliveryWorker {
  start(): void
  /** New jobs may be due: look again. */
  notify(): void
  /** Stop leasing; wait up to graceMs for requests in flight, then release what is left. */
  stop(graceMs: number): Promise<void>
  readonly inFlight: number
}

export function createDeliveryWorker(options: WorkerOptions): DeliveryWorker {
  const { spool, sender, logger } = options
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  // A unit is sent as one request: a lone job, or a batch of jobs sharing (rule, target, method, url).
  const perOrigin = new Map<string, { active: number; waiting: Unit[] }>()
  const { conclude, settle } = createRecorder({ spool, logger, onAttempt: options.onAttempt, now, random })
  const batcher = createBatcher({ flush: (jobs, batch) => admit({ jobs, batch }) })
  const probes = new WeakSet<Unit>()
  const circuits = createCircuits({
    probeIntervalMs: options.probeIntervalMs ?? PROBE_INTERVAL_MS,
    now,
    probe(unit) {
      probes.add(unit)
      dispatch(unit, originOf(unit.jobs[0]!.request.url))
    },
    send: (unit) => dispatch(unit, originOf(unit.jobs[0]!.request.url)),
    refused(unit, probe) {
      const error = probe.error!
      const record: AttemptRecord = {
        at: now(),
        durationMs: 0,
        code: error.code,
        error: `${error.message} (not sent: the probe of this origin was refused)`,
      }
      conclude(unit.jobs, probe, record, false, options.targetOf(unit.jobs[0]!)?.retry ?? defaultRetryPolicy)
      leased -= unit.jobs.length
      schedule()
    },
  })
  let leased = 0
  let active = 0
  let running = false
  let scheduled = false
  let timer: NodeJS.Timeout | undefined
  let timerAt = Number.POSITIVE_INFINITY
  let idle: (() => void) | undefined

  function schedule(): void {
    if (!running || scheduled) return
    scheduled = true
    queueMicrotask(pump)
  }

  function pump(): void {
    scheduled = false
    if (!running) return
    const room = options.maxInFlight - sending()
    if (room > 0) {
      const jobs = spool.lease(room, now())
      leased += jobs.length
      for (const job of jobs) {
        if (job.request.method === UNPREPARED || !batcher.offer(job, options.targetOf(job)?.batch))
          admit({ jobs: [job] })
      }
    }
    // Jobs waiting in batches hold leases: when they fill maxInFlight, send them rather than wait for more.
    if (sending() >= options.maxInFlight) batcher.flushAll()
    armTimer()
  }

  /** Leased jobs less those waiting for their origin's probe: these hold no request slot. */
  function sending(): number {
    return leased - circuits.heldJobs
  }

  function armTimer(): void {
    const due = spool.nextDueAt()
    if (due === null || sending() >= options.maxInFlight) return
    if (timer && due >= timerAt) return
    if (timer) clearTimeout(timer)
    timerAt = due
    timer = setTimeout(
      () => {
        timer = undefined
        timerAt = Number.POSITIVE_INFINITY
        schedule()
      },
      Math.max(0, due - now()),
    )
  }

  function admit(unit: Unit): void {
    const first = unit.jobs[0]!
    // All MQTT jobs go to one broker: they share one origin's concurrency.
    const key = isMqttRequest(first.request) ? 'mqtt:' : originOf(first.request.url)
    if (!heldBack(unit, key)) dispatch(unit, key)
  }

  /** True when the unit's origin refuses connections: it waits for the origin's probe (circuit.ts). */
  function heldBack(unit: Unit, key: string): boolean {
    if (key === 'mqtt:' || unit.jobs[0]!.request.method === UNPREPARED || probes.has(unit)) return false
    return circuits.hold(key, unit)
  }

  function dispatch(unit: Unit, key: string): void {
    let slot = perOrigin.get(key)
    if (!slot) {
      slot = { active: 0, waiting: [] }
      perOrigin.set(key, slot)
    }
    if (slot.active < options.concurrencyPerOrigin) start(unit, key, slot)
    else slot.waiting.push(unit)
  }

  function start(unit: Unit, key: string, slot: { active: number; waiting: Unit[] }): void {
    slot.active++
    active++
    const settled = (sent: SendResult | undefined) => {
      slot.active--
      active--
      leased -= unit.jobs.length
      if (sent && running) circuits.observe(key, sent, probes.delete(unit))
      while (running && slot.active < options.concurrencyPerOrigin && slot.waiting.length > 0) {
        const next = slot.waiting.shift()!
        if (!heldBack(next, key)) start(next, key, slot)
      }
      if (slot.active === 0 && slot.waiting.length === 0) perOrigin.delete(key)
      if (active === 0) idle?.()
      schedule()
    }
    attempt(unit).then(settled, (err: unknown) => {
      logger.error({ err }, 'delivery attempt failed unexpectedly')
      settled(undefined)
    })
  }

  /** Sends the unit and settles its jobs; the HTTP result, for the origin's circuit. */
  async function attempt(unit: Unit): Promise<SendResult | undefined> {
    if (unit.jobs[0]!.request.method === UNPREPARED) {
      // A replayed dead letter that failed at intake: compute its request now, with the rule as it is now.
      const fresh = options.reprepare ? await options.reprepare(unit.jobs[0]!) : undefined
      if (!fresh || 'error' in fresh || 'skipped' in fresh) {
        const result: SendResult =
          fresh && 'error' in fresh ? { error: fresh.error, durationMs: 0 } : { status: 204, durationMs: 0 }
        const record: AttemptRecord = { at: now(), durationMs: 0 }
        if (result.error) Object.assign(record, { code: result.error.code, error: result.error.message })
        const decision: Decision = result.error ? { action: 'dead', reason: result.error.message } : { action: 'done' }
        settle(unit.jobs[0]!, result, record, decision)
        return undefined
      }
      unit = { jobs: [{ ...unit.jobs[0]!, request: fresh.request }] }
    }
    const { jobs, batch } = unit
    const job = jobs[0]!
    const target = options.targetOf(job)
    const policy = target?.retry ?? defaultRetryPolicy
    const timeoutMs = target?.timeoutMs ?? options.defaultTimeoutMs
    const startedAt = now()
    const mqtt = isMqttRequest(job.request)
    // A lone job is sent as spooled: no promise to wait for.
    const prepared = mqtt ? undefined : batch ? await requestOf(jobs, batch) : { id: job.id, request: job.request }
    const result: SendResult = !prepared
      ? await publishJob(job.request, options.publish, target?.loopingFilter ?? noLoop, job.rule)
      : 'error' in prepared
        ? { error: prepared.error, durationMs: 0 }
        : await sender.send(signRequest(prepared.request, prepared.id, target?.signingKeys ?? [], startedAt), timeoutMs)
    conclude(jobs, result, { at: startedAt, durationMs: result.durationMs }, mqtt, policy)
    return prepared && !('error' in prepared) ? result : undefined
  }

  return {
    start() {
      running = true
      schedule()
    },
    notify: schedule,
    async stop(graceMs) {
      running = false
      if (timer) clearTimeout(timer)
      timer = undefined
      // Jobs waiting for a batch or an origin slot were never sent: hand them back at once.
      const unsent = batcher.drain()
      for (const unit of circuits.drain()) unsent.push(...unit.jobs)
      for (const slot of perOrigin.values()) for (const unit of slot.waiting.splice(0)) unsent.push(...unit.jobs)
      for (const job of unsent) {
        spool.release(job.id)
        leased--
      }
      if (active > 0) {
        await new Promise<void>((resolve) => {
          const deadline = setTimeout(resolve, graceMs)
          idle = () => {
            clearTimeout(deadline)
            resolve()
          }
        })
      }
      if (active > 0)
        logger.warn({ inFlight: active }, 'shutdown grace period over: requests still in flight stay in the spool')
    },
    get inFlight() {
      return active
    },
  }
}

const noLoop = () => undefined

/** How often an origin refusing connections gets one attempt while the rest of its due jobs wait. */
const PROBE_INTERVAL_MS = 1000

function originOf(url: string): string {
  const schemeEnd = url.indexOf('://')
  if (schemeEnd < 0) return url
  const pathStart = url.indexOf('/', schemeEnd + 3)
  return pathStart < 0 ? url : url.slice(0, pathStart)
}
