// Bursts at the broker's speed: PUBLISH packets (QoS 1, MQTT 3.1.1) encoded by hand into large buffers and written
// to a socket of their own. MQTT.js spends ~20 µs of JavaScript per publish, so on two shared cores it, not the
// system under test, would set the pace of a burst (the ceiling pipe keeps up with it). Only CONNECT, CONNACK,
// PUBLISH and PUBACK are spoken: keepalive is off, so nothing else arrives.
import { connect, type Socket } from 'node:net'
import type { PublishReport } from '../lib/publisher-types.js'
import { monotonicUs, payloadOf, topicOf } from '../lib/workload.js'

/** MQTT's variable-length "remaining length". */
function remainingLength(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return out
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId)
  // "MQTT", level 4, clean session, keepalive 0, client id.
  const variable = Buffer.concat([
    Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, id.length >> 8, id.length & 0xff]),
    id,
  ])
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(variable.length)]), variable])
}

function publishPacket(topic: string, payload: string, packetId: number): Buffer {
  const t = Buffer.from(topic)
  const p = Buffer.from(payload)
  const length = 2 + t.length + 2 + p.length
  const header = Buffer.from([0x32, ...remainingLength(length), t.length >> 8, t.length & 0xff])
  return Buffer.concat([header, t, Buffer.from([packetId >> 8, packetId & 0xff]), p])
}

export interface BurstWriter {
  burst(run: number, count: number, options: { window: number; deadlineMs: number }): Promise<PublishReport>
}

export async function openBurstWriter(url: string): Promise<BurstWriter> {
  const { hostname, port } = new URL(url)
  const socket: Socket = connect(Number(port), hostname)
  socket.setNoDelay(true)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.write(connectPacket(`bench-burst-${process.pid}`))
  // Every packet the broker sends us is 4 bytes: CONNACK (20 02 00 rc) first, then PUBACKs (40 02 id id).
  let received = 0
  let onAcks: (() => void) | undefined
  await new Promise<void>((resolve, reject) => {
    const first = (chunk: Buffer) => {
      if (chunk[0] !== 0x20 || chunk[3] !== 0) reject(new Error(`CONNACK refused: ${chunk.toString('hex')}`))
      received += chunk.length - 4
      socket.off('data', first)
      socket.on('data', (more: Buffer) => {
        received += more.length
        onAcks?.()
      })
      resolve()
    }
    socket.on('data', first)
  })
  const acked = () => Math.floor(received / 4)

  return {
    burst(run, count, options) {
      received = 0
      return new Promise((resolve) => {
        const started = performance.now()
        let sent = 0
        let finished = false
        const finish = () => {
          if (finished) return
          finished = true
          clearTimeout(deadline)
          onAcks = undefined
          const ok = Math.min(acked(), count)
          resolve({ sent, acked: ok, failed: count - ok, ms: performance.now() - started, maxLagMs: 0 })
        }
        const deadline = setTimeout(finish, options.deadlineMs)
        // Up to 1,000 packets per write; never more than `window` unacknowledged (packet ids stay unique).
        const pump = () => {
          if (finished) return
          while (sent < count && sent - acked() < options.window) {
            const end = Math.min(count, sent + 1000, acked() + options.window)
            const now = monotonicUs()
            const packets: Buffer[] = []
            for (let seq = sent; seq < end; seq++)
              packets.push(publishPacket(topicOf(seq), payloadOf(run, seq, now), (seq % 65535) + 1))
            sent = end
            if (!socket.write(Buffer.concat(packets))) {
              socket.once('drain', pump)
              return
            }
          }
        }
        onAcks = () => {
          if (acked() >= count) finish()
          else if (sent < count && sent - acked() < options.window / 2) setImmediate(pump)
        }
        pump()
      })
    },
  }
}
