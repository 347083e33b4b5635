// Numbered messages for durability tests: publish 0..n-1 (the payload is the number), and tally what a receiver got
// back: which numbers arrived, how often, under which delivery ids.
import mqtt, { type MqttClient } from 'mqtt'
import type { ReceivedRequest, TestReceiver } from './receiver.js'
import { waitFor } from './wait.js'

export const DELIVERY_ID_HEADER = 'x-hookbridge-delivery-id'

export interface Arrival {
  seq: number
  deliveryId: string
  /** Index in the receiver's request list. */
  index: number
}

export interface SequenceTally {
  /** Distinct numbers that arrived. */
  readonly unique: number
  /** Requests beyond the first per number. */
  readonly duplicates: number
  /** Every arrival per number, in arrival order. */
  readonly bySeq: ReadonlyMap<number, readonly Arrival[]>
  /** Numbers below `count` that did not arrive. */
  missing(count: number): number[]
  /** Read the requests that arrived since the last call. */
  update(): void
}

/**
 * Tallies the receiver's requests incrementally; `accept` says which requests count as arrivals (e.g. only those
 * answered 200), `seqOf` reads the number (by default the body is the number).
 */
export function createSequenceTally(
  receiver: TestReceiver,
  {
    accept = () => true,
    seqOf = (request) => Number(request.body.toString()),
  }: {
    accept?: (request: ReceivedRequest, index: number) => boolean
    seqOf?: (request: ReceivedRequest) => number
  } = {},
): SequenceTally {
  const bySeq = new Map<number, Arrival[]>()
  let read = 0
  let arrivals = 0
  const tally: SequenceTally = {
    get unique() {
      return bySeq.size
    },
    get duplicates() {
      return arrivals - bySeq.size
    },
    bySeq,
    missing(count) {
      const out: number[] = []
      for (let seq = 0; seq < count; seq++) if (!bySeq.has(seq)) out.push(seq)
      return out
    },
    update() {
      const requests = receiver.requests
      for (; read < requests.length; read++) {
        const request = requests[read]!
        if (!accept(request, read)) continue
        const seq = seqOf(request)
        if (!Number.isInteger(seq)) throw new Error(`request ${read} carries no sequence number: ${request.body}`)
        const arrival = { seq, deliveryId: String(request.headers[DELIVERY_ID_HEADER]), index: read }
        const list = bySeq.get(seq)
        if (list) list.push(arrival)
        else bySeq.set(seq, [arrival])
        arrivals++
      }
    },
  }
  return tally
}

/** Waits until every number below `count` arrived; on timeout says which are missing. */
export async function waitForAll(
  tally: SequenceTally,
  count: number,
  { timeoutMs, what }: { timeoutMs: number; what: string },
): Promise<void> {
  await waitFor(
    () => {
      tally.update()
      return tally.unique >= count
    },
    { timeoutMs, intervalMs: 50, what },
  ).catch((err: Error) => {
    const missing = tally.missing(count)
    throw new Error(`${err.message}: ${missing.length} of ${count} missing (first: ${missing.slice(0, 20).join(', ')})`)
  })
}

export interface PublishSequenceOptions {
  /** Payload of number `seq`; default: the number as text. */
  payloadOf?: (seq: number) => string
  /** Topic of number `seq`. */
  topicOf: (seq: number) => string
  qos?: 1 | 2
  /** Publishes awaiting their PUBACK at most. */
  window?: number
  /** Awaited before each publish: lets a test pace the publisher against the far end. */
  gate?: (seq: number) => Promise<unknown>
  /** Called after each PUBACK with how many are acknowledged so far. */
  onAcknowledged?: (count: number) => void
}

/** Publishes 0..count-1 in order, with at most `window` unacknowledged; resolves when the broker has all. */
export async function publishSequence(
  client: MqttClient,
  count: number,
  { payloadOf = String, topicOf, qos = 1, window = 20, gate, onAcknowledged }: PublishSequenceOptions,
): Promise<void> {
  const inFlight = new Set<Promise<void>>()
  let acknowledged = 0
  let failure: unknown
  for (let seq = 0; seq < count; seq++) {
    if (gate) await gate(seq)
    while (inFlight.size >= window) await Promise.race(inFlight)
    if (failure) throw failure
    const sent: Promise<void> = client.publishAsync(topicOf(seq), payloadOf(seq), { qos }).then(
      () => {
        inFlight.delete(sent)
        onAcknowledged?.(++acknowledged)
      },
      (err: unknown) => {
        inFlight.delete(sent)
        failure ??= err
      },
    )
    inFlight.add(sent)
  }
  await Promise.all(inFlight)
  if (failure) throw failure
}

/** A publisher with a persistent session of its own (clean start off), so nothing it sent depends on hookbridge. */
export async function connectPublisher(url: string, clientId: string, protocolVersion: 4 | 5): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId,
    protocolVersion,
    clean: false,
    reconnectPeriod: 100,
    properties: protocolVersion === 5 ? { sessionExpiryInterval: 3600 } : undefined,
  })
}
