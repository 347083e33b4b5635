import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createDeadlines, createSlots, findOutgoing, justPublished, type PublishCallback } from './publish-flow.js'

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

describe('createSlots', () => {
  it('hands out free slots at once, then in the order asked, and nobody overtakes a woken waiter', async () => {
    const slots = createSlots(() => 2)
    expect(slots.tryAcquire()).toBe(true)
    expect(slots.tryAcquire()).toBe(true)
    expect(slots.tryAcquire()).toBe(false)
    const order: string[] = []
    const far = Date.now() + 10_000
    const first = slots.acquire(far).then((ok) => {
      order.push(`first ${ok}`)
      slots.handedOver()
    })
    const second = slots.acquire(far).then((ok) => {
      order.push(`second ${ok}`)
      slots.handedOver()
    })
    slots.release()
    // `first` has the slot but has not continued yet: a newcomer must wait behind it.
    expect(slots.tryAcquire()).toBe(false)
    await first
    expect(order).toEqual(['first true'])
    slots.release()
    await second
    expect(order).toEqual(['first true', 'second true'])
    expect(slots.tryAcquire()).toBe(false) // both slots held again
    slots.release()
    expect(slots.tryAcquire()).toBe(true)
  })

  it('gives up at the deadline', async () => {
    const slots = createSlots(() => 1)
    expect(slots.tryAcquire()).toBe(true)
    expect(await slots.acquire(Date.now() + 20)).toBe(false)
    slots.release()
    expect(slots.tryAcquire()).toBe(true)
  })
})

describe('createDeadlines', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('calls each expiry when its time comes, also one added after a later one, and not one removed', () => {
    vi.useFakeTimers()
    const deadlines = createDeadlines()
    const expired: string[] = []
    const start = Date.now()
    deadlines.add(start + 60, () => expired.push('late'))
    deadlines.add(start + 20, () => expired.push('early'))
    const removed = deadlines.add(start + 10, () => expired.push('removed'))
    deadlines.remove(removed)
    vi.advanceTimersByTime(19)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['early'])
    vi.advanceTimersByTime(39)
    expect(expired).toEqual(['early'])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['early', 'late'])
    expect(deadlines.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('runs one timer at most, which does not hold the process once every deadline is removed', () => {
    vi.useFakeTimers()
    const deadlines = createDeadlines()
    const all = Array.from({ length: 100 }, (_, i) => deadlines.add(Date.now() + 30_000 + i, () => {}))
    expect(deadlines.holdsProcess).toBe(true)
    for (const deadline of all) deadlines.remove(deadline)
    expect(deadlines.size).toBe(0)
    expect(deadlines.holdsProcess).toBe(false)
    const again = deadlines.add(Date.now() + 30_000, () => {})
    expect(deadlines.holdsProcess).toBe(true)
    deadlines.remove(again)
    expect(deadlines.holdsProcess).toBe(false)
  })

  it('counts one timer at most', () => {
    vi.useFakeTimers()
    const deadlines = createDeadlines()
    for (let i = 0; i < 100; i++) deadlines.add(Date.now() + 30_000 - i, () => {})
    expect(vi.getTimerCount()).toBe(1)
    vi.advanceTimersByTime(30_000)
    expect(deadlines.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })
})
