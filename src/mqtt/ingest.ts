// Ingest: MQTT message -> matching rules and prepared delivery jobs (ingest-batch.ts) -> spool -> acknowledgement.
// A QoS 1/2 message is acknowledged to the broker (PUBACK / PUBREC) only after `spool.enqueue` resolved, so a
// crash before that leaves the message with the broker, which sends it again.
import type { IClientOptions, IPublishPacket } from 'mqtt'
import type { Logger } from '../observability/logger.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Backpressure } from '../spool/backpressure.js'
import type { AttemptRecord, NewJob, SourceMessage, Spool } from '../spool/spool.js'
import { propertiesToJson } from '../transform/envelope.js'
import type { AckPipeline } from './ack-pipeline.js'
import { type Batch, createMessagePreparer } from './ingest-batch.js'

export interface IngestCounters {
  received: number
  /** Messages that matched no rule (e.g. a live subscription's). */
  unmatched: number
  /** (message, rule) pairs. */
  matched: number
  skipped: number
  failed: number
  jobs: number
  /** QoS 0 messages refused while the spool was full (QoS 0 cannot be held back at the broker). */
  droppedQos0: number
}

/** What ingest reports as it goes (metrics). */
export interface IngestObserver {
  received(): void
  matched(rule: string): void
  filtered(rule: string, reason: string): void
  ruleSeconds(rule: string, seconds: number): void
  enqueued(job: NewJob): void
  deadAtIntake(job: NewJob, code: string): void
  qos0Dropped(): void
}

export interface IngestOptions {
  observer?: IngestObserver
  rules(): RuleSet
  spool: Spool
  /** Pipelined acknowledgements (ack-pipeline.ts); without it each message waits for its own commit. */
  acks?: AckPipeline
  /** Most acknowledgements held at once before MQTT.js is made to wait. */
  maxHeldAcks?: number
  /** Payloads larger than this are not parsed: each matching rule dead-letters them. */
  maxPayloadBytes?: number
  logger: Logger
  /** Waits for room in the spool (backpressure.ts); absent: always room. */
  backpressure?: Pick<Backpressure, 'tryReserve' | 'waitForRoom' | 'release'>
  /** True while intake is paused for backpressure. */
  isPaused?(): boolean
  /** A message was dead-lettered at intake (its rule failed on it). */
  onDeadLetter?(notice: { job: NewJob; reason: string; history: AttemptRecord[] }): void
  /** Jobs were enqueued (not necessarily stored yet): wake the workers. */
  onEnqueued(): void
  /** Every message, for live (SSE) listeners. */
  onMessage?(message: SourceMessage, viaSubscriptions?: ReadonlySet<string>): void
  /** The filters MQTT 5 subscription identifiers stand for. */
  filtersFor?(ids: number | number[] | undefined): ReadonlySet<string> | undefined
  /** A QoS 1/2 message could not be stored: the connection should be dropped so the broker resends it. */
  onStoreFailure?(err: unknown): void
  now?: () => number
  /** How long messages are prepared before the event loop may turn. Default SLICE_MS. */
  sliceMs?: number
}

export interface Ingest {
  /** Handles one message; resolves once its jobs are in the spool. */
  handle(message: SourceMessage, viaSubscriptions?: ReadonlySet<string>): Promise<void>
  /** MQTT.js hook for QoS 1 and 2: acknowledge only after the spool has the jobs. */
  customHandleAcks: NonNullable<IClientOptions['customHandleAcks']>
  /** MQTT.js 'message' listener for QoS 0 (no acknowledgement to hold back). */
  onQos0(topic: string, payload: Buffer, packet: IPublishPacket): void
  readonly counters: IngestCounters
}

export function createIngest(options: IngestOptions): Ingest {
  const { spool, logger } = options
  const now = options.now ?? Date.now
  const sliceMs = options.sliceMs ?? SLICE_MS
  const { observer } = options
  const counters: IngestCounters = {
    received: 0,
    unmatched: 0,
    matched: 0,
    skipped: 0,
    failed: 0,
    jobs: 0,
    droppedQos0: 0,
  }

  const prepare = createMessagePreparer({
    rules: options.rules,
    counters,
    observer,
    logger,
    maxPayloadBytes: options.maxPayloadBytes,
    onMessage: options.onMessage,
  })

  // Messages are prepared one at a time, in the order they arrived, in slices of about SLICE_MS with a turn of the
  // event loop between them. Under a burst MQTT.js hands over every buffered packet before any promise continues:
  // preparing them all at once would pile up thousands of JSONata evaluations (each then measured against
  // limits.expressionTimeoutMs while it waits for the others) and starve delivery. Stores stay pipelined: each
  // enqueue is *called* in turn, and the spool commits the calls of a moment together.
  interface Waiting {
    message: SourceMessage
    viaSubscriptions: ReadonlySet<string> | undefined
    resolve(): void
    reject(err: unknown): void
  }
  let queue: Array<Waiting | undefined> = []
  let head = 0
  let pumping = false

  function handle(message: SourceMessage, viaSubscriptions?: ReadonlySet<string>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      queue.push({ message, viaSubscriptions, resolve, reject })
      if (!pumping) {
        pumping = true
        void pump()
      }
    })
  }

  async function pump(): Promise<void> {
    let sliceStarted = performance.now()
    while (head < queue.length) {
      const waiting = queue[head]!
      queue[head++] = undefined
      try {
        // Awaited only when it is a promise: most messages are prepared and stored without one.
        const prepared = prepare(waiting.message, waiting.viaSubscriptions)
        const batch = prepared instanceof Promise ? await prepared : prepared
        if (!batch) waiting.resolve()
        else {
          const storing = store(batch, waiting)
          if (storing) await storing
        }
      } catch (err) {
        waiting.reject(err)
      }
      if (performance.now() - sliceStarted >= sliceMs) {
        await new Promise<void>((resolve) => setImmediate(resolve))
        sliceStarted = performance.now()
      }
      if (head >= 1024 && head * 2 >= queue.length) {
        queue = queue.slice(head)
        head = 0
      }
    }
    queue = []
    head = 0
    pumping = false
  }

  /** Calls enqueue (in arrival order, since the pump waits for this) and settles `waiting` once it is committed. */
  function store(batch: Batch, waiting: Waiting): Promise<void> | undefined {
    const all = batch.failures.length === 0 ? batch.jobs : [...batch.jobs, ...batch.failures.flatMap((f) => f.jobs)]
    const { backpressure } = options
    if (backpressure && !backpressure.tryReserve(all.length)) {
      return backpressure.waitForRoom(all.length).then(() => enqueue(batch, all, waiting))
    }
    enqueue(batch, all, waiting)
    return undefined
  }

  function enqueue(batch: Batch, all: NewJob[], waiting: Waiting): void {
    const committed = spool.enqueue(all)
    // Jobs can be leased as soon as they are enqueued (the durable spool delivers while the commit runs).
    if (batch.jobs.length > 0) options.onEnqueued()
    committed.then(
      () => {
        options.backpressure?.release(all.length)
        stored(batch)
        waiting.resolve()
      },
      (err: unknown) => {
        options.backpressure?.release(all.length)
        waiting.reject(err)
      },
    )
  }

  function stored({ jobs, failures }: Batch): void {
    // A message the rule cannot handle is kept as a dead letter with its code and original bytes.
    for (const failure of failures) {
      for (const job of failure.jobs) {
        const attempt: AttemptRecord = { at: now(), durationMs: 0, code: failure.code, error: failure.error }
        spool.deadLetter(job.id, attempt, failure.error)
        observer?.deadAtIntake(job, failure.code)
        options.onDeadLetter?.({ job, reason: failure.error, history: [attempt] })
      }
    }
    counters.jobs += jobs.length
    if (observer) for (const job of jobs) observer.enqueued(job)
  }

  function via(packet: IPublishPacket): ReadonlySet<string> | undefined {
    return options.filtersFor?.(packet.properties?.subscriptionIdentifier)
  }

  function fromPacket(topic: string, payload: Buffer, packet: IPublishPacket): SourceMessage {
    const message: SourceMessage = {
      topic,
      payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
      qos: packet.qos,
      retain: packet.retain,
      receivedAt: now(),
    }
    if (packet.properties) message.properties = propertiesToJson(packet.properties)
    return message
  }

  return {
    handle,
    customHandleAcks(topic, payload, packet, done) {
      const message = fromPacket(topic, payload as Buffer, packet)
      const pipeline = options.acks
      if (!pipeline || packet.messageId === undefined) {
        // Without a pipeline: hold this packet's acknowledgement (and MQTT.js's next packet) until stored.
        handle(message, via(packet)).then(
          () => done(0),
          (err: unknown) => {
            // Not acknowledged: the broker keeps the message and sends it again after we reconnect. Dropping
            // the connection is the only way MQTT offers to ask for that.
            logger.error({ err, topic }, 'could not store the message: it stays with the broker')
            done(err as Error)
            options.onStoreFailure?.(err)
          },
        )
        return
      }
      const messageId = packet.messageId
      pipeline.room(options.maxHeldAcks ?? 1000).then(() => {
        const stored = handle(message, via(packet))
        stored.catch((err: unknown) =>
          logger.error({ err, topic }, 'could not store the message: it stays with the broker'),
        )
        pipeline.hold(messageId, stored)
        done(0)
      })
    },
    onQos0(topic, payload, packet) {
      if (packet.qos !== 0) return
      if (options.isPaused?.()) {
        // Holding QoS 0 messages in memory while the spool is full would only move the problem: count and log.
        observer?.qos0Dropped()
        if (counters.droppedQos0++ % 1000 === 0) {
          logger.warn(
            { topic, dropped: counters.droppedQos0 },
            'spool full: QoS 0 message dropped (use QoS 1 to have the broker hold messages)',
          )
        }
        return
      }
      handle(fromPacket(topic, payload, packet), via(packet)).catch((err: unknown) =>
        logger.error({ err, topic }, 'could not store a QoS 0 message: it is lost (QoS 0 promises nothing more)'),
      )
    },
    counters,
  }
}

/** How long ingest prepares messages before it lets the event loop turn (deliveries, acknowledgements, timers). */
const SLICE_MS = 5
