// Pipelined acknowledgements. MQTT.js handles incoming packets one at a time: a PUBACK (QoS 1) or PUBREC
// (QoS 2) held back until the message is stored would stall the connection on every commit (~120 messages/s
// here). Instead, MQTT.js is told at once that the message is handled, its PUBACK/PUBREC is intercepted on the
// way out, and sent only when the message's store promise resolves: many messages are in flight, the spool
// groups them into one commit, and still no acknowledgement leaves before its message is stored.
//
// Acknowledgements go out in the order the messages arrived (MQTT 4.6). If a store fails, that acknowledgement
// and every later one on the connection are withheld and the connection is dropped, so the broker sends the
// unacknowledged messages again. An acknowledgement whose connection has gone is never sent on the next one.
// This wraps MQTT.js's `_sendPacket` (mqtt 5.x); test/durability's kill -9 tests prove it on MQTT 5 and 3.1.1.
import type { MqttClient } from 'mqtt'

interface Pending {
  stored: Promise<void>
  connection: object | undefined
}

export interface AckPipeline {
  /** Hold the acknowledgement of `messageId` until `stored` resolves. */
  hold(messageId: number, stored: Promise<void>): void
  /** Resolves when fewer than `max` acknowledgements are held (bounds memory when the broker does not). */
  room(max: number): Promise<void>
  readonly held: number
}

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: (err?: Error) => void, ...rest: unknown[]) => void

export function installAckPipeline(client: MqttClient, onStoreFailure: (err: unknown) => void): AckPipeline {
  const internal = client as unknown as { _sendPacket: SendPacket; stream: object | undefined }
  const original = internal._sendPacket.bind(client)
  const pending = new Map<number, Pending>()
  // The chain of acknowledgements in arrival order; reset on each new connection.
  let chain: Promise<unknown> = Promise.resolve()
  let chainConnection: object | undefined
  let poisoned: object | undefined
  let held = 0
  let waiters: Array<() => void> = []

  const released = () => {
    held--
    const wake = waiters
    waiters = []
    for (const resolve of wake) resolve()
  }

  // MQTT.js counts only incoming acknowledgements as signs of life, so a connection that only receives messages
  // sends a PINGREQ every keepalive and gives up when the PINGRESP is not handled within half a keepalive more.
  // Behind a backlog of thousands of messages that answer comes too late, and the connection was dropped every
  // 45 s. The acknowledgements we send are the broker's proof of life too: reschedule the ping when one goes
  // out (at most once a second, a timer each time).
  let lastKeepAlive = 0
  const keptAlive = () => {
    const now = Date.now()
    if (now - lastKeepAlive < 1000) return
    lastKeepAlive = now
    client.reschedulePing()
  }

  internal._sendPacket = (packet, cb, ...rest) => {
    const entry = packet.messageId === undefined ? undefined : pending.get(packet.messageId)
    if ((packet.cmd !== 'puback' && packet.cmd !== 'pubrec') || !entry) return original(packet, cb, ...rest)
    pending.delete(packet.messageId!)
    // Let MQTT.js go on with the next packet now; the acknowledgement follows its store, in order.
    cb?.()
    if (chainConnection !== entry.connection) {
      chain = Promise.resolve()
      chainConnection = entry.connection
    }
    chain = chain.then(async () => {
      try {
        await entry.stored
      } catch (err) {
        if (poisoned !== entry.connection) {
          poisoned = entry.connection
          onStoreFailure(err)
        }
        return
      } finally {
        released()
      }
      if (poisoned === entry.connection || internal.stream !== entry.connection || !client.connected) return
      original(packet, undefined, ...rest)
      keptAlive()
    })
  }

  // Acknowledgements MQTT.js never asked to send (the connection closed first) are dropped with it: the broker
  // sends those messages again on the next connection.
  client.on('close', () => {
    for (const _ of pending.keys()) released()
    pending.clear()
  })

  return {
    hold(messageId, stored) {
      const existing = pending.get(messageId)
      if (existing) {
        // A QoS 2 message sent again before its PUBREC: acknowledge once both copies are stored.
        existing.stored = Promise.all([existing.stored, stored]).then(() => undefined)
        existing.stored.catch(() => {})
        return
      }
      held++
      pending.set(messageId, { stored, connection: internal.stream })
      // Keep an unobserved failure from being reported as unhandled before the ack's turn comes.
      stored.catch(() => {})
    },
    async room(max) {
      while (held >= max) await new Promise<void>((resolve) => waiters.push(resolve))
    },
    get held() {
      return held
    },
  }
}
