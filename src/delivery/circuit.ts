// Per-origin circuits. Once an origin refuses connections, its due jobs are not each sent to fail on their own:
// they wait here, and one of them is sent as a probe at most every probeIntervalMs. A refused probe is every
// waiting job's attempt (recorded, and its retry policy decides: retry on its own backoff, or dead-letter by
// maxAttempts / maxAgeMs); any answer (a status, even 5xx, or a timeout) closes the circuit and they are sent.
import type { DeliveryUnit } from './batcher.js'
import type { SendResult } from './send.js'

export interface CircuitsOptions {
  probeIntervalMs: number
  /** Send the unit as its origin's probe (report the result with wasProbe true). */
  probe(unit: DeliveryUnit): void
  /** Send the unit as usual: its origin answered. */
  send(unit: DeliveryUnit): void
  /** Settle the unit with its origin's refused probe as its own attempt. */
  refused(unit: DeliveryUnit, probe: SendResult): void
  now(): number
}

export interface Circuits {
  /** Takes the unit when its origin is refusing connections; false: send it as usual. */
  hold(origin: string, unit: DeliveryUnit): boolean
  /** The result of a request sent to the origin. */
  observe(origin: string, result: SendResult, wasProbe: boolean): void
  /** Takes back every waiting unit and clears the timers (shutdown). */
  drain(): DeliveryUnit[]
  /** Jobs waiting for a probe. */
  readonly heldJobs: number
}

interface Circuit {
  held: DeliveryUnit[]
  probing: boolean
  lastProbeAt: number
  timer: NodeJS.Timeout | undefined
}

/** Open circuits kept with nothing waiting (computed URLs can name many origins that are down). */
const MAX_IDLE_CIRCUITS = 1024

export const REFUSED_CODE = 'HOOKBRIDGE_DELIVERY_CONNECTION'

export function createCircuits(options: CircuitsOptions): Circuits {
  const open = new Map<string, Circuit>()
  let heldJobs = 0

  function arm(circuit: Circuit): void {
    if (circuit.probing || circuit.timer || circuit.held.length === 0) return
    const waitMs = circuit.lastProbeAt + options.probeIntervalMs - options.now()
    if (waitMs <= 0) startProbe(circuit)
    else
      circuit.timer = setTimeout(() => {
        circuit.timer = undefined
        startProbe(circuit)
      }, waitMs)
  }

  function startProbe(circuit: Circuit): void {
    const unit = circuit.held.shift()
    if (!unit) return
    heldJobs -= unit.jobs.length
    circuit.probing = true
    circuit.lastProbeAt = options.now()
    options.probe(unit)
  }

  function forgetIdle(): void {
    for (const [origin, circuit] of open) {
      if (circuit.held.length === 0 && !circuit.probing && !circuit.timer) open.delete(origin)
    }
  }

  return {
    hold(origin, unit) {
      const circuit = open.get(origin)
      if (!circuit) return false
      circuit.held.push(unit)
      heldJobs += unit.jobs.length
      arm(circuit)
      return true
    },
    observe(origin, result, wasProbe) {
      let circuit = open.get(origin)
      if (circuit && wasProbe) circuit.probing = false
      const code = result.error?.code
      if (code !== REFUSED_CODE) {
        if (!circuit) return
        if (code !== undefined && code !== 'HOOKBRIDGE_DELIVERY_TIMEOUT') {
          // Not sent (an invalid request): nothing learnt about the origin.
          if (wasProbe) arm(circuit)
          return
        }
        // The origin answers: close, and send what waited (through the origin's concurrency limit).
        open.delete(origin)
        if (circuit.timer) clearTimeout(circuit.timer)
        heldJobs -= circuit.held.reduce((sum, unit) => sum + unit.jobs.length, 0)
        for (const unit of circuit.held) options.send(unit)
        return
      }
      if (!circuit) {
        if (open.size >= MAX_IDLE_CIRCUITS) forgetIdle()
        circuit = { held: [], probing: false, lastProbeAt: options.now(), timer: undefined }
        open.set(origin, circuit)
        return
      }
      if (wasProbe) {
        const held = circuit.held
        circuit.held = []
        for (const unit of held) {
          heldJobs -= unit.jobs.length
          options.refused(unit, result)
        }
      }
      arm(circuit)
    },
    drain() {
      const units: DeliveryUnit[] = []
      for (const circuit of open.values()) {
        if (circuit.timer) clearTimeout(circuit.timer)
        circuit.timer = undefined
        units.push(...circuit.held.splice(0))
      }
      heldJobs = 0
      return units
    },
    get heldJobs() {
      return heldJobs
    },
  }
}
