// Publishing with an honest outcome, for the HTTP API: QoS 1/2 resolve only on PUBACK / PUBCOMP, QoS 0 once
// written to the socket, all within a deadline. A message reported as failed is withdrawn from MQTT.js's queue
// and outgoing store, so it is never sent later behind the caller's back.
import { type IClientPublishOptions, type MqttClient, type Packet, ReasonCodes } from 'mqtt'
import { HookbridgeError } from '../errors.js'

export type QoS = 0 | 1 | 2
export type PublishProperties = NonNullable<IClientPublishOptions['properties']>

export interface PublishOptions {
  qos: QoS
  retain: boolean
  /** MQTT 5 only: rejected on a 3.1.1 connection rather than dropped. */
  properties?: PublishProperties
}

export interface PublishResult {
  /** The packet id of a QoS 1/2 message. */
  messageId?: number
  /** The reason code of the PUBACK / PUBCOMP (MQTT 5): 0 success, 16 no matching subscribers. */
  reasonCode?: number
}

export interface Publisher {
  publish(topic: string, payload: Buffer, options: PublishOptions): Promise<PublishResult>
}

export interface PublisherOptions {
  /** Deadline for the broker's acknowledgement (and for a free in-flight slot). */
  timeoutMs: number
}

type Callback = (err?: Error, packet?: Packet) => void
interface Pending {
  messageId?: number
  reasonCode?: number
}
interface StoreProcessingEntry {
  callback?: Callback
}

const RECEIVE_MAXIMUM = 65_535
/** MQTT.js errors that mean the message never left the client. */
const NOT_SENT = /client disconnecting|connection closed|no connection to broker/i

export function createPublisher(client: MqttClient, options: PublisherOptions): Publisher {
  const { timeoutMs } = options
  const pendingByCallback = new WeakMap<Callback, Pending>()
  const slots = createSlots(() => client.serverProperties?.receiveMaximum ?? RECEIVE_MAXIMUM)

  // The success callback of MQTT.js carries the stored PUBLISH, not the ack: read the ack's reason code here.
  // 'packetreceive' is emitted before the ack is handled, while the outgoing entry still names our callback.
  client.on('packetreceive', (packet) => {
    if (packet.cmd !== 'puback' && packet.cmd !== 'pubcomp') return
    const pending = pendingFor(client, packet.messageId, pendingByCallback)
    if (pending) {
      pending.messageId = packet.messageId
      // An MQTT 5 ack without a reason code means success (0); MQTT 3.1.1 acks have none.
      pending.reasonCode = packet.reasonCode ?? (client.options.protocolVersion === 5 ? 0 : undefined)
    }
  })

  const retryAfterSeconds = () => Math.max(1, Math.ceil((client.options.reconnectPeriod || 1000) / 1000))
  const unavailable = (detail: string) =>
    new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail, retryAfterSeconds: retryAfterSeconds() })

  function checkLimits(topic: string, options: PublishOptions): void {
    const server = client.serverProperties
    const v5 = client.options.protocolVersion === 5
    if (!v5 && options.properties && Object.keys(options.properties).length > 0) {
      throw new HookbridgeError('HOOKBRIDGE_PROPERTIES_UNSUPPORTED', {
        names: Object.keys(options.properties).join(', '),
      })
    }
    const reject = (reasonCode: number, reason: string) =>
      new HookbridgeError('HOOKBRIDGE_PUBLISH_REJECTED', { topic, reasonCode, reason })
    // The broker announced these limits in its CONNACK; going past them would get the connection closed.
    if (server?.maximumQoS !== undefined && options.qos > server.maximumQoS) {
      throw reject(0x9b, `QoS not supported: the broker accepts at most QoS ${server.maximumQoS}`)
    }
    if (options.retain && server?.retainAvailable === false) {
      throw reject(0x9a, 'Retain not supported by the broker')
    }
  }

  async function publish(topic: string, payload: Buffer, options: PublishOptions): Promise<PublishResult> {
    if (!client.connected || client.disconnecting) throw unavailable('not connected; nothing was published')
    checkLimits(topic, options)
    const deadline = Date.now() + timeoutMs
    // QoS 0 needs no slot but waits the same one tick, so that publishes started in order are sent in order.
    const acquired = await (options.qos === 0 ? true : slots.acquire(deadline))
    if (options.qos === 0) return send(topic, payload, options, deadline)
    if (!acquired) {
      throw unavailable(
        `${slots.limit()} messages are already awaiting the broker's acknowledgement (its receive maximum); nothing was published`,
      )
    }
    try {
      return await send(topic, payload, options, deadline)
    } finally {
      slots.release()
    }
  }

  function send(topic: string, payload: Buffer, options: PublishOptions, deadline: number): Promise<PublishResult> {
    // The connection may have dropped while waiting for a slot.
    if (!client.connected) return Promise.reject(unavailable('not connected; nothing was published'))
    return new Promise((resolve, reject) => {
      const pending: Pending = {}
      let settled = false
      const callback: Callback = (err) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (!err) return resolve({ messageId: pending.messageId, reasonCode: pending.reasonCode })
        const reasonCode = (err as { code?: unknown }).code
        if (typeof reasonCode === 'number') {
          const reason = (ReasonCodes as Record<number, string>)[reasonCode] ?? 'unknown reason'
          return reject(new HookbridgeError('HOOKBRIDGE_PUBLISH_REJECTED', { topic, reasonCode, reason }))
        }
        if (NOT_SENT.test(err.message)) return reject(unavailable(`${err.message}; nothing was published`))
        reject(new HookbridgeError('HOOKBRIDGE_PUBLISH_UNCONFIRMED', { topic, detail: err.message }))
      }
      const timer = setTimeout(
        () => {
          if (settled) return
          settled = true
          const where = withdraw(client, callback, pending.messageId)
          if (where === 'queued') {
            reject(unavailable(`the message could not be sent within ${timeoutMs} ms; nothing was published`))
          } else {
            const detail = `no acknowledgement came within ${timeoutMs} ms`
            reject(new HookbridgeError('HOOKBRIDGE_PUBLISH_UNCONFIRMED', { topic, detail, timeoutMs }))
          }
        },
        Math.max(0, deadline - Date.now()),
      )
      pendingByCallback.set(callback, pending)
      client.publish(
        topic,
        payload,
        { qos: options.qos, retain: options.retain, properties: options.properties },
        callback,
      )
      if (!settled && options.qos > 0) pending.messageId = findOutgoing(client, callback)
    })
  }

  return { publish }
}

function findOutgoing(client: MqttClient, callback: Callback): number | undefined {
  for (const [id, entry] of Object.entries(client.outgoing)) {
    if (entry.cb === callback) return Number(id)
  }
  return undefined
}

function pendingFor(client: MqttClient, messageId: number | undefined, map: WeakMap<Callback, Pending>) {
  if (messageId === undefined) return undefined
  const cb = client.outgoing[messageId]?.cb as Callback | undefined
  return cb ? map.get(cb) : undefined
}

/**
 * Take a message that timed out out of MQTT.js, so that it is not (re)sent after we reported it as failed.
 * 'queued': it had not been sent at all; 'sent': it had been written (it may have reached the broker).
 */
function withdraw(client: MqttClient, callback: Callback, knownId: number | undefined): 'queued' | 'sent' {
  // Publishes made while MQTT.js resends its store after a reconnect wait in this private queue.
  const queue = (client as unknown as { _storeProcessingQueue?: StoreProcessingEntry[] })._storeProcessingQueue
  const index = queue?.findIndex((entry) => entry.callback === callback) ?? -1
  if (queue && index >= 0) {
    queue.splice(index, 1)
    return 'queued'
  }
  const id = knownId ?? findOutgoing(client, callback)
  // Removes it from `outgoing` and the outgoing store; calls back with 'Message removed', which we ignore.
  if (id !== undefined && client.outgoing[id]) client.removeOutgoingMessage(id)
  return 'sent'
}

/** Messages awaiting an ack at once, at most the broker's receive maximum (MQTT.js does not enforce it). */
function createSlots(limit: () => number) {
  let inUse = 0
  const waiters: Array<{ wake: () => void }> = []
  return {
    limit,
    acquire(deadline: number): Promise<boolean> {
      if (inUse < limit() && waiters.length === 0) {
        inUse++
        return Promise.resolve(true)
      }
      return new Promise((resolve) => {
        const waiter = {
          wake: () => {
            clearTimeout(timer)
            inUse++
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
    release(): void {
      inUse--
      while (inUse < limit() && waiters.length > 0) waiters.shift()!.wake()
    },
  }
}
