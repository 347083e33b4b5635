// MQTT -> HTTP through one system, one repetition: probe, warm-up, fixed rates (latency), then a saturation burst
// (throughput, CPU, losses). A phase that ends with messages missing leaves the system with a backlog, so the
// bench restarts broker and system before the next phase rather than measure it behind that backlog.
import { loadavg } from 'node:os'
import { join } from 'node:path'
import {
  type Bench,
  type BurstResult,
  burst,
  fixedRate,
  openBench,
  probe,
  type RateResult,
  type Receiver,
} from '../lib/harness.js'
import { procStats } from '../lib/procs.js'
import type { Profile } from '../lib/profile.js'
import type { SystemDefinition } from '../systems/system.js'

export interface PipelineRep {
  system: string
  rep: number
  rates: RateResult[]
  burst?: BurstResult
  /** Highest VmHWM of the system's process(es) in this repetition. */
  peakRssBytes: number
  /** Restarts after a phase that ended incomplete. */
  restarts: number
  /** The machine's 1-minute load average at the start and the end (other work on the machine skews figures). */
  loadAverage: [number, number]
  error?: string
}

export async function measurePipeline(
  definition: SystemDefinition,
  rep: number,
  profile: Profile,
  receiver: Receiver,
  dir: string,
  log: (line: string) => void,
  execArgv?: string[],
): Promise<PipelineRep> {
  const targetUrl = `http://127.0.0.1:${receiver.ready.port}/ingest`
  const result: PipelineRep = {
    system: definition.id,
    rep,
    rates: [],
    peakRssBytes: 0,
    restarts: 0,
    loadAverage: [loadavg()[0]!, Number.NaN],
  }
  const wait = { idleMs: profile.idleMs }
  let bench: Bench | undefined
  let instance = 0
  const notePeak = () => {
    const stats = bench && procStats(bench.system.pid)
    if (stats) result.peakRssBytes = Math.max(result.peakRssBytes, stats.peakRssBytes)
  }
  const open = async () => {
    bench = await openBench(definition, join(dir, `${definition.id}-rep${rep}-${instance++}`), targetUrl, execArgv)
    await probe(bench, receiver, 60_000)
    const warm = await burst(bench, receiver, profile.warmup, { ...wait, capMs: 15_000 })
    if (!warm.complete) log(`  warm-up: ${warm.delivered}/${profile.warmup} delivered`)
  }
  const restart = async () => {
    notePeak()
    await bench?.close()
    bench = undefined
    result.restarts++
    await open()
  }
  try {
    await open()
    for (const perSecond of profile.rates) {
      const rate = await fixedRate(bench!, receiver, perSecond, profile.rateDurationMs, {
        ...wait,
        capMs: profile.rateCapMs,
      })
      result.rates.push(rate)
      log(
        `  ${perSecond}/s: p50 ${rate.p50Ms.toFixed(2)} ms, p99 ${rate.p99Ms.toFixed(2)} ms, max ${rate.maxMs.toFixed(1)} ms, ` +
          `lost ${rate.lost}${rate.complete ? '' : ' (incomplete)'}`,
      )
      if (!rate.complete) {
        if (bench!.system.diagnostics)
          log(`  system says: ${JSON.stringify(await bench!.system.diagnostics().catch(String))}`)
        await restart()
      }
    }
    result.burst = await burst(bench!, receiver, profile.burst, { ...wait, capMs: profile.burstCapMs })
    const b = result.burst
    log(
      `  burst ${profile.burst}: ${Math.round(b.perSecond)} msg/s, ${b.cpuMsPer1k.toFixed(1)} ms CPU/1k, ` +
        `lost ${b.lost}, dup ${b.duplicates}${b.complete ? '' : ' (incomplete)'}`,
    )
    if (!b.complete && bench!.system.diagnostics)
      log(`  system says: ${JSON.stringify(await bench!.system.diagnostics().catch(String))}`)
    notePeak()
  } catch (err) {
    result.error = (err as Error).message
    log(`  error: ${result.error}`)
  } finally {
    notePeak()
    await bench?.close()
    result.loadAverage[1] = loadavg()[0]!
  }
  return result
}
