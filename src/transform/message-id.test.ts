import { describe, expect, it } from 'vitest'
import { createMessageIdGenerator, deliveryIdOf, newMessageId } from './message-id.js'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

function timestampOf(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)
}

describe('message ids', () => {
  it('are UUIDs of version 7 and the RFC 9562 variant, in lower-case text', () => {
    for (let i = 0; i < 1000; i++) expect(newMessageId()).toMatch(UUID_V7)
  })

  it('carry the millisecond they were made in their first 48 bits', () => {
    const at = Date.UTC(2026, 10, 30, 1, 2, 3, 456)
    const id = createMessageIdGenerator(() => at)()
    expect(timestampOf(id)).toBe(at)
    expect(id.slice(0, 13)).toBe(`${at.toString(16).padStart(12, '0').slice(0, 8)}-${at.toString(16).slice(-4)}`)
  })

  it('are unique', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 100_000; i++) seen.add(newMessageId())
    expect(seen.size).toBe(100_000)
  })

  it('increase within a process, also many to a millisecond and when the clock goes back', () => {
    const clock = [5_000, 5_000, 5_000, 4_000, 4_000, 5_001, 5_001, 3, 6_000]
    let tick = 0
    const next = createMessageIdGenerator(() => clock[Math.min(tick++, clock.length - 1)]!)
    const ids = Array.from({ length: 2_000 }, () => next())
    for (let i = 1; i < ids.length; i++) expect(ids[i]! > ids[i - 1]!, `${ids[i - 1]} < ${ids[i]}`).toBe(true)
    for (const id of ids) expect(id).toMatch(UUID_V7)
    expect(timestampOf(ids[0]!)).toBe(5_000)
    expect(timestampOf(ids.at(-1)!)).toBe(6_000)
  })

  it('order as the clock does across milliseconds', () => {
    let ms = 1_700_000_000_000
    const next = createMessageIdGenerator(() => ms)
    const a = next()
    ms += 1
    const b = next()
    expect(a < b).toBe(true)
    expect(timestampOf(b) - timestampOf(a)).toBe(1)
  })
})

describe('delivery ids', () => {
  it('are <messageId>:<rule>:<target>', () => {
    expect(deliveryIdOf('m', 'rule-ä', 'hook')).toBe('m:rule-ä:hook')
  })
})
