// What the publisher needs from MQTT.js beyond its public API, and the broker's flow control: in-flight slots
// (receive maximum), the deadlines of messages awaiting their acks, finding and withdrawing a message in MQTT.js's
// queues, and the size of a PUBLISH packet.
import type { MqttClient, Packet } from 'mqtt'
import type { PublishProperties } from './publish.js'

export type PublishCallback = (err?: Error, packet?: Packet) => void

interface StoreProcessingEntry {
  callback?: PublishCallback
}

/** The size of the PUBLISH packet, rounded up (fixed header, topic, packet id, properties, payload). */
export function estimatePacketBytes(topic: string, payload: Buffer, properties: PublishProperties | undefined): number {
  let size = 5 + 2 + Buffer.byteLength(topic) + 2 + 4 + payload.length
  for (const value of Object.values(properties ?? {})) {
    if (typeof value === 'string') size += 3 + Buffer.byteLength(value)
    else if (Buffer.isBuffer(value)) size += 3 + value.length
    else if (typeof value === 'object' && value !== null) {
      for (const [key, v] of Object.entries(value)) {
        for (const item of [v].flat()) size += 5 + Buffer.byteLength(key) + Buffer.byteLength(String(item))
      }
    } else size += 5
  }
  return size
}

/**
 * The packet id of the message just handed to `client.publish` with this callback, in O(1): MQTT.js allocates the
 * id and files the message under it in `outgoing` synchronously. undefined when the message waits in MQTT.js's
 * queue (no id yet) or is already settled.
 */
export function justPublished(client: MqttClient, callback: PublishCallback): number | undefined {
  const id = client.messageIdProvider.getLastAllocated()
  if (id !== null && client.outgoing[id]?.cb === callback) return id
  return undefined
}

/** The packet id under which the message with this callback awaits its ack: a scan, for the rare paths. */
export function findOutgoing(client: MqttClient, callback: PublishCallback): number | undefined {
  for (const [id, entry] of Object.entries(client.outgoing)) {
    if (entry.cb === callback) return Number(id)
  }
  return undefined
}

/** The callback MQTT.js will call for the message with this packet id, while it awaits its ack. */
export function outgoingCallback(client: MqttClient, messageId: number | undefined): PublishCallback | undefined {
  if (messageId === undefined) return undefined
  return client.outgoing[messageId]?.cb as PublishCallback | undefined
}

/**
 * Take a message that timed out out of MQTT.js, so that it is not (re)sent after we reported it as failed.
 * 'queued': it had not been sent at all; 'sent': it had been written (it may have reached the broker).
 */
export function withdraw(
  client: MqttClient,
  callback: PublishCallback,
  knownId: number | undefined,
): 'queued' | 'sent' {
  // Publishes made while MQTT.js resends its store after a reconnect wait in this private queue.
  const queue = (client as unknown as { _storeProcessingQueue?: StoreProcessingEntry[] })._storeProcessingQueue
  const index = queue?.findIndex((entry) => entry.callback === callback) ?? -1
  if (queue && index >= 0) {
    queue.splice(index, 1)
    return 'queued'
  }
  const id = knownId ?? findOutgoing(client, callback)
  // Removes it from `outgoing` and the outgoing store; calls back with 'Message removed', which we ignore.
  if (id !== undefined && client.outgoing[id]) {
    client.removeOutgoingMessage(id)
    // A graceful end() waits for this event, which MQTT.js only emits when an ack empties `outgoing`.
    if (client.disconnecting && Object.keys(client.outgoing).length === 0) client.emit('outgoingEmpty')
  }
  return 'sent'
}

/** Messages awaiting an ack at once, at most the broker's receive maximum (MQTT.js does not enforce it). */
export function createSlots(limit: () => number) {
  let inUse = 0
  // Waiters given a slot whose message is not handed to MQTT.js yet (their promise continues a tick later): until
  // then nobody takes a slot at once, so that messages are sent in the order their publishes started.
  let granted = 0
  const waiters: Array<{ wake: () => void }> = []
  return {
    limit,
    /** Takes a slot now if one is free and nobody is ahead; false otherwise (then `acquire` waits for one). */
    tryAcquire(): boolean {
      if (inUse >= limit() || waiters.length > 0 || granted > 0) return false
      inUse++
      return true
    },
    /**
     * When `tryAcquire` failed: resolves true with a slot taken (call `handedOver` once its message is sent), or
     * false at the deadline.
     */
    acquire(deadline: number): Promise<boolean> {
      return new Promise((resolve) => {
        const waiter = {
          wake: () => {
            clearTimeout(timer)
            inUse++
            granted++
            resolve(true)
          },
        }
        const timer = setTimeout(
          () => {
            waiters.splice(waiters.indexOf(waiter), 1)
            resolve(false)
          },
          Math.max(0, deadline - Date.now()),
        )
        waiters.push(waiter)
      })
    },
    handedOver(): void {
      granted--
      wakeWaiters()
    },
    release(): void {
      inUse--
      wakeWaiters()
    },
  }

  function wakeWaiters(): void {
    while (inUse < limit() && waiters.length > 0) waiters.shift()!.wake()
  }
}

export interface Deadline {
  /** Date.now() at which `expire` is called, unless the deadline is removed before. */
  readonly at: number
  readonly expire: () => void
}

/**
 * The deadlines of messages awaiting their acks, on one timer instead of one per message: most are removed when
 * the ack comes, long before they are due. The timer is set for the earliest deadline; while no deadline is left it
 * does not keep the process alive (unref), and it stays set, so that the next message does not set it again.
 */
export function createDeadlines() {
  const waiting = new Set<Deadline>()
  let timer: NodeJS.Timeout | undefined
  let armedFor = Number.POSITIVE_INFINITY

  function arm(at: number): void {
    if (timer !== undefined) clearTimeout(timer)
    armedFor = at
    timer = setTimeout(sweep, Math.max(0, at - Date.now()))
  }

  function sweep(): void {
    timer = undefined
    armedFor = Number.POSITIVE_INFINITY
    const now = Date.now()
    for (const deadline of waiting) {
      if (deadline.at > now) continue
      waiting.delete(deadline)
      deadline.expire()
    }
    // Expiries may have added or removed deadlines: set the timer for the earliest one left.
    let next = Number.POSITIVE_INFINITY
    for (const deadline of waiting) if (deadline.at < next) next = deadline.at
    if (next < armedFor) arm(next)
  }

  return {
    add(at: number, expire: () => void): Deadline {
      const deadline: Deadline = { at, expire }
      if (waiting.size === 0) timer?.ref()
      waiting.add(deadline)
      if (at < armedFor) arm(at)
      return deadline
    },
    remove(deadline: Deadline): void {
      if (waiting.delete(deadline) && waiting.size === 0) timer?.unref()
    },
    /** Deadlines waiting (for tests). */
    get size(): number {
      return waiting.size
    },
    /** Whether the timer keeps the process alive (for tests). */
    get holdsProcess(): boolean {
      return timer?.hasRef() ?? false
    },
  }
}
