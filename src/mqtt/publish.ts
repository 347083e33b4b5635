// Publishing with an honest outcome, for the HTTP API: QoS 1/2 resolve only on PUBACK / PUBCOMP, QoS 0 once
// written to the socket, all within a deadline. A message reported as failed is withdrawn from MQTT.js's queue
// and outgoing store, so it is never sent later behind the caller's back.
import { type IClientPublishOptions, type MqttClient, ReasonCodes } from 'mqtt'
import { HookbridgeError } from '../errors.js'
import {
  createDeadlines,
  createSlots,
  type Deadline,
  estimatePacketBytes,
  justPublished,
  outgoingCallback,
  type PublishCallback,
  withdraw,
} from './publish-flow.js'

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

interface Pending {
  messageId?: number
  reasonCode?: number
}

const RECEIVE_MAXIMUM = 65_535
/** MQTT.js errors that mean the message never left the client. */
const NOT_SENT = /client disconnecting|connection closed|no connection to broker/i

export function createPublisher(client: MqttClient, options: PublisherOptions): Publisher {
  const { timeoutMs } = options
  // Our messages awaiting their outcome, by their MQTT.js callback; each leaves when settled. (A WeakMap needed no
  // removal but cost about 1.4 µs per message: V8 treats fresh keys in one as ephemerons, also in the GC.)
  const pendingByCallback = new Map<PublishCallback, Pending>()
  const slots = createSlots(() => client.serverProperties?.receiveMaximum ?? RECEIVE_MAXIMUM)
  const deadlines = createDeadlines()

  // Note each of our messages' packet id when it is sent (also one that waited in MQTT.js's queue), and read the
  // ack's reason code: MQTT.js's success callback carries the stored PUBLISH, not the ack. Both events come
  // while the outgoing entry still names our callback.
  client.on('packetsend', (packet) => {
    if (packet.cmd !== 'publish' || !packet.qos) return
    const cb = outgoingCallback(client, packet.messageId)
    const pending = cb && pendingByCallback.get(cb)
    if (pending) pending.messageId = packet.messageId
  })
  client.on('packetreceive', (packet) => {
    if (packet.cmd !== 'puback' && packet.cmd !== 'pubcomp') return
    const cb = outgoingCallback(client, packet.messageId)
    const pending = cb && pendingByCallback.get(cb)
    if (pending) {
      pending.messageId = packet.messageId
      // An MQTT 5 ack without a reason code means success (0); MQTT 3.1.1 acks have none.
      pending.reasonCode = packet.reasonCode ?? (client.options.protocolVersion === 5 ? 0 : undefined)
    }
  })

  const retryAfterSeconds = () => Math.max(1, Math.ceil((client.options.reconnectPeriod || 1000) / 1000))
  const unavailable = (detail: string) =>
    new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail, retryAfterSeconds: retryAfterSeconds() })

  function checkLimits(topic: string, payload: Buffer, options: PublishOptions): void {
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
    const size = estimatePacketBytes(topic, payload, options.properties)
    if (server?.maximumPacketSize !== undefined && size > server.maximumPacketSize) {
      throw reject(
        0x95,
        `Packet too large: about ${size} bytes, the broker accepts at most ${server.maximumPacketSize}`,
      )
    }
  }

  // Not async: with a slot free (the usual case) the message is handed to MQTT.js at once, in the caller's turn, and
  // the caller gets the one promise of its outcome. Publishes started in order are sent in order: one that waits for
  // a slot waits behind those already waiting, and QoS 0 needs no slot.
  function publish(topic: string, payload: Buffer, options: PublishOptions): Promise<PublishResult> {
    try {
      if (!client.connected || client.disconnecting) throw unavailable('not connected; nothing was published')
      checkLimits(topic, payload, options)
    } catch (err) {
      return Promise.reject(err)
    }
    const deadline = Date.now() + timeoutMs
    if (options.qos === 0) return send(topic, payload, options, deadline, false)
    if (slots.tryAcquire()) return send(topic, payload, options, deadline, true)
    return slots.acquire(deadline).then((acquired) => {
      if (!acquired) {
        throw unavailable(
          `${slots.limit()} messages are already awaiting the broker's acknowledgement (its receive maximum); nothing was published`,
        )
      }
      slots.handedOver()
      return send(topic, payload, options, deadline, true)
    })
  }

  /** `holdsSlot`: the message holds an in-flight slot, given back when its outcome is known. */
  function send(
    topic: string,
    payload: Buffer,
    options: PublishOptions,
    deadline: number,
    holdsSlot: boolean,
  ): Promise<PublishResult> {
    // The connection may have dropped while waiting for a slot.
    if (!client.connected) {
      if (holdsSlot) slots.release()
      return Promise.reject(unavailable('not connected; nothing was published'))
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = {}
      let settled = false
      const settle = () => {
        settled = true
        pendingByCallback.delete(callback)
        if (holdsSlot) slots.release()
      }
      const callback: PublishCallback = (err) => {
        if (settled) return
        settle()
        deadlines.remove(expiry)
        if (!err) return resolve({ messageId: pending.messageId, reasonCode: pending.reasonCode })
        const reasonCode = (err as { code?: unknown }).code
        if (typeof reasonCode === 'number') {
          const reason = (ReasonCodes as Record<number, string>)[reasonCode] ?? 'unknown reason'
          return reject(new HookbridgeError('HOOKBRIDGE_PUBLISH_REJECTED', { topic, reasonCode, reason }))
        }
        // A QoS 1/2 message with a packet id was handed to the connection ('Connection closed' then means the
        // client gave up on its ack); without one it was still queued inside MQTT.js.
        const sent = options.qos > 0 && pending.messageId !== undefined
        if (!sent && NOT_SENT.test(err.message)) return reject(unavailable(`${err.message}; nothing was published`))
        reject(new HookbridgeError('HOOKBRIDGE_PUBLISH_UNCONFIRMED', { topic, detail: err.message }))
      }
      const expiry: Deadline = deadlines.add(deadline, () => {
        if (settled) return
        settle()
        const where = withdraw(client, callback, pending.messageId)
        if (where === 'queued') {
          reject(unavailable(`the message could not be sent within ${timeoutMs} ms; nothing was published`))
        } else {
          const detail = `no acknowledgement came within ${timeoutMs} ms`
          reject(
            new HookbridgeError('HOOKBRIDGE_PUBLISH_UNCONFIRMED', {
              topic,
              detail,
              retryAfterSeconds: retryAfterSeconds(),
            }),
          )
        }
      })
      pendingByCallback.set(callback, pending)
      client.publish(
        topic,
        payload,
        { qos: options.qos, retain: options.retain, properties: options.properties },
        callback,
      )
      // Sent at once: 'packetsend' has noted the id. Stored while offline: it has one, but no 'packetsend'.
      if (!settled && options.qos > 0 && pending.messageId === undefined) {
        pending.messageId = justPublished(client, callback)
      }
    })
  }

  return { publish }
}
