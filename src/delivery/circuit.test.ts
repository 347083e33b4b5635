// Circuit states without the network: which results open and close an origin's circuit, probe pacing, drain.
import { afterEach, describe, expect, it } from 'vitest'
import { HookbridgeError } from '../errors.js'
import type { DeliveryUnit } from './batcher.js'
import { type Circuits, createCircuits } from './circuit.js'
import type { SendResult } from './send.js'

const unit = (n: number): DeliveryUnit => ({ jobs: [{ id: `m${n}` } as DeliveryUnit['jobs'][number]] })
const refused: SendResult = {
  error: new HookbridgeError('HOOKBRIDGE_DELIVERY_CONNECTION', { url: 'http://a', detail: 'ECONNREFUSED' }),
  durationMs: 1,
}
const timedOut: SendResult = {
  error: new HookbridgeError('HOOKBRIDGE_DELIVERY_TIMEOUT', { url: 'http://a', timeoutMs: 10 }),
  durationMs: 10,
}
const invalid: SendResult = {
  error: new HookbridgeError('HOOKBRIDGE_DELIVERY_INVALID_REQUEST', { url: 'http://a', detail: 'bad' }),
  durationMs: 0,
}

describe('circuits', () => {
  let clock = 0
  let circuits: Circuits
  const log: string[] = []
  afterEach(() => {
    circuits.drain()
    log.length = 0
  })

  function create(probeIntervalMs = 1000) {
    clock = 0
    circuits = createCircuits({
      probeIntervalMs,
      now: () => clock,
      probe: (u) => log.push(`probe ${u.jobs[0]!.id}`),
      send: (u) => log.push(`send ${u.jobs[0]!.id}`),
      refused: (u) => log.push(`refused ${u.jobs[0]!.id}`),
    })
  }

  it('holds nothing until the origin refuses a connection', () => {
    create()
    expect(circuits.hold('http://a', unit(1))).toBe(false)
    circuits.observe('http://a', { status: 500, durationMs: 1 }, false)
    expect(circuits.hold('http://a', unit(1))).toBe(false)
  })

  it('probes with the first waiting unit once the interval has passed, and shares a refusal with the others', () => {
    create(0)
    circuits.observe('http://a', refused, false)
    expect(circuits.hold('http://a', unit(1))).toBe(true)
    expect(log).toEqual(['probe m1'])
    expect(circuits.hold('http://a', unit(2))).toBe(true)
    expect(circuits.hold('http://a', unit(3))).toBe(true)
    expect(circuits.heldJobs).toBe(2)
    circuits.observe('http://a', refused, true)
    expect(log).toEqual(['probe m1', 'refused m2', 'refused m3'])
    expect(circuits.heldJobs).toBe(0)
    // Another origin is not affected.
    expect(circuits.hold('http://b', unit(4))).toBe(false)
  })

  it('closes on any answer, a timeout included, and sends what waited', () => {
    for (const answer of [{ status: 503, durationMs: 1 }, timedOut]) {
      create(0)
      circuits.observe('http://a', refused, false)
      circuits.hold('http://a', unit(1))
      circuits.hold('http://a', unit(2))
      circuits.observe('http://a', answer, true)
      expect(log).toEqual(['probe m1', 'send m2'])
      expect(circuits.hold('http://a', unit(3))).toBe(false)
      log.length = 0
    }
  })

  it('learns nothing from a request that was not sent', () => {
    create(0)
    circuits.observe('http://a', refused, false)
    circuits.hold('http://a', unit(1))
    circuits.hold('http://a', unit(2))
    circuits.observe('http://a', invalid, true)
    // Still open: the next waiting unit is the next probe.
    expect(log).toEqual(['probe m1', 'probe m2'])
    expect(circuits.hold('http://a', unit(3))).toBe(true)
  })

  it('waits out the probe interval', async () => {
    create(30)
    clock = 100
    circuits.observe('http://a', refused, false)
    circuits.hold('http://a', unit(1))
    expect(log).toEqual([])
    clock = 130
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(log).toEqual(['probe m1'])
  })

  it('hands back every waiting unit on drain', () => {
    create(60_000)
    circuits.observe('http://a', refused, false)
    circuits.hold('http://a', unit(1))
    circuits.hold('http://a', unit(2))
    expect(circuits.drain().map((u) => u.jobs[0]!.id)).toEqual(['m1', 'm2'])
    expect(circuits.heldJobs).toBe(0)
  })
})
