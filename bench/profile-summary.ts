// Summarises a V8 .cpuprofile (node --cpu-prof): self time by file/package and by function, and inclusive time.
// Usage: node bench/results/tmp/build/profile-summary.js <file> [topN] [--window=<from s>,<to s>]
// --window keeps the samples between those seconds after the profile started (e.g. leave start-up out).
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  /** Microseconds of CLOCK_MONOTONIC, like bench/lib/workload.ts monotonicUs(). */
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface SummaryOptions {
  top?: number
  /** Keep samples from/to these CLOCK_MONOTONIC microseconds. */
  fromUs?: number
  toUs?: number
  /** Or from/to these seconds after the profile started. */
  windowS?: [number, number]
}

const shortUrl = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\//, 'npm:')
    .replace(/.*\/dist\//, 'dist/')
    .replace(/.*\/bench\/results\/tmp\/build\//, 'bench/')

export function summarize(file: string, options: SummaryOptions = {}): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const top = options.top ?? 40
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const from = options.fromUs ?? (options.windowS ? profile.startTime + options.windowS[0] * 1e6 : 0)
  const to = options.toUs ?? (options.windowS ? profile.startTime + options.windowS[1] * 1e6 : Number.POSITIVE_INFINITY)

  const selfUs = new Map<number, number>()
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (at < from || at > to) return
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta)
  })
  let totalUs = 0
  for (const v of selfUs.values()) totalUs += v

  const frameKey = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`
  const groupOf = (n: ProfileNode) => {
    const url = shortUrl(n.callFrame.url)
    if (url === '') return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : '(native)'
    if (url.startsWith('npm:'))
      return url
        .slice(4)
        .split('/')
        .slice(0, url.startsWith('npm:@') ? 2 : 1)
        .join('/')
    return url
  }
  const self = new Map<string, number>()
  const groups = new Map<string, number>()
  const inclusive = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!
    self.set(frameKey(n), (self.get(frameKey(n)) ?? 0) + us)
    groups.set(groupOf(n), (groups.get(groupOf(n)) ?? 0) + us)
    const seen = new Set<string>() // a recursive frame counts once per stack
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const key = frameKey(byId.get(cur)!)
      if (seen.has(key)) continue
      seen.add(key)
      inclusive.set(key, (inclusive.get(key) ?? 0) + us)
    }
  }
  const out: string[] = [
    `${(totalUs / 1000).toFixed(0)} ms sampled (${((at - profile.startTime) / 1e6).toFixed(1)} s profile)`,
  ]
  const pct = (us: number) => `${((100 * us) / totalUs).toFixed(1).padStart(5)}%`
  const section = (title: string, map: Map<string, number>, n: number) => {
    out.push('', title)
    for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) out.push(`${pct(v)}  ${k}`)
  }
  section('self time by file / package', groups, 25)
  section('self time by function', self, top)
  section('inclusive time by function', inclusive, top)
  return `${out.join('\n')}\n`
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.on('error', () => process.exit(0)) // e.g. piped into head
  const window = process.argv
    .find((a) => a.startsWith('--window='))
    ?.slice(9)
    .split(',')
    .map(Number)
  const [file, top = '40'] = process.argv.slice(2).filter((a) => !a.startsWith('--'))
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [topN] [--window=<from s>,<to s>]')
  process.stdout.write(
    summarize(file, {
      top: Number(top),
      windowS: window ? [window[0]!, window[1] ?? Number.POSITIVE_INFINITY] : undefined,
    }),
  )
}
