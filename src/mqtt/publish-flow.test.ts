import mqtt, { type MqttClient } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { findOutgoing, justPublished, type PublishCallback } from './publish-flow.js'

// A client that never connects (no socket, no timer, so nothing to close): MQTT.js still allocates packet ids and
// files QoS 1/2 messages in `outgoing` (stored for sending once connected), which is all these functions read.
function offlineClient(): MqttClient {
  return mqtt.connect('mqtt://127.0.0.1:1', { manualConnect: true, reconnectPeriod: 0 })
}

describe('justPublished', () => {
  it('finds the packet id of the message just published among many awaiting their acks', () => {
    const c = offlineClient()
    const callbacks: PublishCallback[] = []
    for (let i = 0; i < 200; i++) {
      const callback: PublishCallback = () => {}
      callbacks.push(callback)
      c.publish(`t/${i}`, 'x', { qos: i % 2 === 0 ? 1 : 2 }, callback)
      const id = justPublished(c, callback)
      expect(id).toBeDefined()
      expect(c.outgoing[id!]?.cb).toBe(callback)
      expect(id).toBe(findOutgoing(c, callback))
    }
    // Each message has its own id.
    expect(new Set(callbacks.map((cb) => findOutgoing(c, cb))).size).toBe(200)
  })

  it('finds nothing for a message still waiting in MQTT.js queue, or for an unknown callback', () => {
    const c = offlineClient()
    const first: PublishCallback = () => {}
    c.publish('t/1', 'x', { qos: 1 }, first)
    // While MQTT.js resends its store after a reconnect, new publishes wait in a queue without an id.
    ;(c as unknown as { _storeProcessing: boolean })._storeProcessing = true
    const queued: PublishCallback = () => {}
    c.publish('t/2', 'x', { qos: 1 }, queued)
    expect(justPublished(c, queued)).toBeUndefined()
    expect(findOutgoing(c, queued)).toBeUndefined()
    expect(justPublished(c, () => {})).toBeUndefined()
    ;(c as unknown as { _storeProcessing: boolean })._storeProcessing = false
  })
})
