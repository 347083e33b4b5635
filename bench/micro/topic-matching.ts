// Topic matching with 10,000 rules: hookbridge's trie matcher (the one in the message path) against qlobber (the
// trie aedes routes with), hookbridge's reference matcher (a linear scan) and Node-RED's way (each `mqtt in`
// node's filter turned into a RegExp and tested, per message and per node). Matches per second, in-process.
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serve } from '../lib/ipc.js'
import { repoRoot } from '../lib/paths.js'
import { median } from '../lib/stats.js'

interface ParsedFilter {
  source: string
}
interface TopicMatcher {
  add(filter: ParsedFilter, value: number): void
  match(topic: string): unknown[]
}
interface QlobberInstance {
  add(topic: string, value: number): void
  match(topic: string): unknown[]
}

// BENCH_DIST: measure a patched copy of dist/ instead (see run.ts --variant-dist).
const distDir = process.env.BENCH_DIST ?? join(repoRoot, 'dist')
const dist = (path: string) => import(pathToFileURL(join(distDir, path)).href)
const { createTrieMatcher } = (await dist('topics/trie-matcher.js')) as { createTrieMatcher(): TopicMatcher }
const { createReferenceMatcher } = (await dist('topics/reference-matcher.js')) as {
  createReferenceMatcher(): TopicMatcher
}
const { parseFilter } = (await dist('topics/filter.js')) as { parseFilter(source: string): ParsedFilter }
const { Qlobber } = createRequire(import.meta.url)('qlobber') as {
  Qlobber: new (options: object) => QlobberInstance
}

export const RULES = 10_000

/** Rule i's filter, with hookbridge's named wildcards and in plain MQTT syntax. */
function filterOf(i: number): { named: string; plain: string } {
  const kind = i % 10
  if (kind < 7) return { named: `plant/p${i}/+device/temperature`, plain: `plant/p${i}/+/temperature` }
  if (kind < 9) return { named: `plant/p${i}/line/+line/#rest`, plain: `plant/p${i}/line/+/#` }
  return { named: `+site/alarm/a${i}`, plain: `+/alarm/a${i}` }
}

/** 10,000 topics: four in five match exactly one rule, one in five matches none. */
function topics(): string[] {
  const out: string[] = []
  for (let j = 0; j < 10_000; j++) {
    const i = (j * 7919) % RULES
    const kind = i % 10
    if (j % 5 === 4) out.push(`plant/p${i}/unknown/level/x`)
    else if (kind < 7) out.push(`plant/p${i}/dev-${j % 97}/temperature`)
    else if (kind < 9) out.push(`plant/p${i}/line/l${j % 13}/station/${j % 7}`)
    else out.push(`site-${j % 31}/alarm/a${i}`)
  }
  return out
}

// Node-RED 4.1 nodes/core/network/10-mqtt.js `matchTopic` (Apache-2.0), as each subscription's handler runs it.
function nodeRedMatchTopic(ts: string, t: string): boolean {
  if (ts === '#') return true
  if (ts.startsWith('$share')) ts = ts.replace(/^\$share\/[^#+/]+\/(.*)/g, '$1')
  const re = new RegExp(
    `^${ts
      .replace(/([[\]?()\\\\$^*.|])/g, '\\$1')
      .replace(/\+/g, '[^/]+')
      .replace(/\/#$/, '(/.*)?')}$`,
  )
  return re.test(t)
}

/** Matches per second over about `ms`, in batches (bounded by time and by 50 million matches). */
function measure(match: (topic: string) => number, list: string[], ms: number): { perSecond: number; hits: number } {
  let hits = 0
  let done = 0
  const started = performance.now()
  let elapsed = 0
  while (elapsed < ms && done < 50_000_000) {
    const batch = Math.max(1, Math.min(list.length, done === 0 ? 10 : done))
    for (let k = 0; k < batch; k++) hits += match(list[(done + k) % list.length]!)
    done += batch
    elapsed = performance.now() - started
  }
  return { perSecond: (done * 1000) / elapsed, hits: hits / done }
}

function run(args: { ms: number }) {
  const list = topics()
  const trie = createTrieMatcher()
  const reference = createReferenceMatcher()
  const qlobber = new Qlobber({ separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true })
  const plainFilters: string[] = []
  for (let i = 0; i < RULES; i++) {
    const { named, plain } = filterOf(i)
    trie.add(parseFilter(named), i)
    reference.add(parseFilter(named), i)
    qlobber.add(plain, i)
    plainFilters.push(plain)
  }
  const nodeRed = (topic: string) => {
    let n = 0
    for (const filter of plainFilters) if (nodeRedMatchTopic(filter, topic)) n++
    return n
  }
  const implementations = {
    hookbridgeTrie: (t: string) => trie.match(t).length,
    qlobber: (t: string) => qlobber.match(t).length,
    hookbridgeReference: (t: string) => reference.match(t).length,
    nodeRedRegExp: nodeRed,
  }
  // Interleaved rounds, median per implementation: a noisy neighbour then hurts every implementation alike.
  const rounds = 5
  const samples: Record<string, number[]> = {}
  const hits: Record<string, number> = {}
  for (let round = 0; round <= rounds; round++) {
    for (const [name, match] of Object.entries(implementations)) {
      const m = measure(match, list, args.ms / rounds)
      if (round === 0) continue // warm-up
      samples[name] = [...(samples[name] ?? []), m.perSecond]
      hits[name] = m.hits
    }
  }
  return Object.fromEntries(
    Object.keys(implementations).map((name) => [name, { perSecond: median(samples[name]!), hitsPerTopic: hits[name] }]),
  )
}

serve({ run })
