// The result file: raw figures of every repetition, medians per system, ratios (median of the per-repetition
// ratios, so each ratio compares figures measured minutes apart on the same machine) and the targets.
import type { BacklogResult } from '../phases/backlog.js'
import type { HttpPublishResult } from '../phases/http-publish.js'
import type { PipelineRep } from '../phases/pipeline.js'
import type { Profile } from './profile.js'
import { median, ratio } from './stats.js'

export interface SystemInfo {
  id: string
  label: string
  skipped?: string
}

export interface PipelineSummary {
  reps: number
  deliveredPerSecond: number
  burstLost: number
  burstDuplicates: number
  cpuMsPer1k: number
  peakRssMB: number
  /** Most connections the receiver saw open at once during the burst. */
  receiverConnections: number
  /** By rate (messages per second). */
  latency: Record<string, { p50Ms: number; p99Ms: number; maxMs: number; lost: number; cpuMsPer1k: number }>
  errors: string[]
}

export interface TopicMatchingResult {
  [implementation: string]: { perSecond: number; hitsPerTopic: number }
}

export interface Results {
  generatedAt: string
  command: string
  profile: Profile
  durationS: number
  machine: Record<string, unknown>
  versions: Record<string, string>
  systems: SystemInfo[]
  pipeline: { reps: PipelineRep[]; summary: Record<string, PipelineSummary> }
  ratios: Record<string, Record<string, number>>
  backlog: BacklogResult[]
  httpPublish: { reps: HttpPublishResult[]; summary: Record<string, Record<string, number>>; ratio: number }
  micro: { topicMatching?: TopicMatchingResult; jsonata?: Record<string, number>; spool?: Record<string, number> }
  targets: Target[]
}

export interface Target {
  id: string
  description: string
  target: string
  value: number
  unit: string
  met: boolean | null
}

export function summarizePipeline(reps: PipelineRep[], systemId: string, rates: number[]): PipelineSummary {
  const mine = reps.filter((r) => r.system === systemId)
  const latency: PipelineSummary['latency'] = {}
  for (const rate of rates) {
    const at = mine.map((r) => r.rates.find((x) => x.perSecond === rate)).filter((x) => x !== undefined)
    latency[String(rate)] = {
      p50Ms: median(at.map((x) => x.p50Ms)),
      p99Ms: median(at.map((x) => x.p99Ms)),
      maxMs: median(at.map((x) => x.maxMs)),
      lost: median(at.map((x) => x.lost)),
      cpuMsPer1k: median(at.map((x) => x.cpuMsPer1k)),
    }
  }
  return {
    reps: mine.length,
    deliveredPerSecond: median(mine.map((r) => r.burst?.perSecond ?? Number.NaN)),
    burstLost: median(mine.map((r) => r.burst?.lost ?? Number.NaN)),
    burstDuplicates: median(mine.map((r) => r.burst?.duplicates ?? Number.NaN)),
    cpuMsPer1k: median(mine.map((r) => r.burst?.cpuMsPer1k ?? Number.NaN)),
    peakRssMB: median(mine.map((r) => (r.peakRssBytes > 0 ? r.peakRssBytes / 1048576 : Number.NaN))),
    receiverConnections: median(mine.map((r) => r.burst?.receiverPeakConnections ?? Number.NaN)),
    latency,
    errors: mine.flatMap((r) => (r.error ? [`rep ${r.rep}: ${r.error}`] : [])),
  }
}

/** What is compared, and how each repetition's figure is read. */
export const ratioMetrics: Record<string, (r: PipelineRep) => number | undefined> = {
  deliveredPerSecond: (r) => r.burst?.perSecond,
  cpuMsPer1k: (r) => r.burst?.cpuMsPer1k,
  peakRss: (r) => (r.peakRssBytes > 0 ? r.peakRssBytes : undefined),
  p50At1k: (r) => r.rates.find((x) => x.perSecond === 1000)?.p50Ms,
  p99At1k: (r) => r.rates.find((x) => x.perSecond === 1000)?.p99Ms,
  p99At5k: (r) => r.rates.find((x) => x.perSecond === 5000)?.p99Ms,
}

/** For each metric, the median over repetitions of (system a in rep i) / (system b in rep i). */
export function pipelineRatios(reps: PipelineRep[], a: string, b: string): Record<string, number> {
  const out: Record<string, number> = {}
  const repNumbers = [...new Set(reps.map((r) => r.rep))]
  for (const [name, read] of Object.entries(ratioMetrics)) {
    const values = repNumbers.map((n) => {
      const ra = reps.find((r) => r.system === a && r.rep === n)
      const rb = reps.find((r) => r.system === b && r.rep === n)
      return ratio(ra && read(ra), rb && read(rb))
    })
    out[name] = median(values)
  }
  return out
}
