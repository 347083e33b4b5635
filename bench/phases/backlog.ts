// The receiver is down (nothing listens on the webhook's port) while a burst is published: the bridge must take
// every message (acknowledge it to the broker only once stored) and hold it. Measures RSS while it does, how long
// taking the backlog took, and the spool's size on disk. Bounded by the profile's count and cap.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { type Bench, openBench } from '../lib/harness.js'
import { freePort, procStats, sleep, waitFor } from '../lib/procs.js'
import type { Profile } from '../lib/profile.js'
import type { PublishReport } from '../lib/publisher-types.js'
import type { SystemDefinition } from '../systems/system.js'

export interface BacklogResult {
  system: string
  messages: number
  /** Messages the broker still held when the phase ended (0: the bridge took the whole backlog). */
  leftWithBroker: number
  complete: boolean
  /** From the first publish until the broker held nothing more for the bridge. */
  seconds: number
  /** Messages per second the bridge took (stored and acknowledged) with the receiver down. */
  intakePerSecond: number
  peakRssBytes: number
  /** RSS once the whole backlog is held. */
  finalRssBytes: number
  /** Size of the spool's files (durable mode). */
  spoolBytes: number
  cpuMsPer1k: number
  error?: string
}

function directoryBytes(dir: string): number {
  let total = 0
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      total += entry.isDirectory() ? directoryBytes(path) : statSync(path).size
    }
  } catch {
    // no such directory: memory mode
  }
  return total
}

async function ready(bench: Bench): Promise<void> {
  const url = `http://127.0.0.1:${bench.system.httpPort}/readyz`
  await waitFor(
    async () => {
      if (procStats(bench.system.pid) === undefined) throw new Error('the system exited during start-up')
      return (await fetch(url).catch(() => undefined))?.ok
    },
    { what: url, timeoutMs: 60_000, intervalMs: 200 },
  )
}

export async function measureBacklog(
  definition: SystemDefinition,
  profile: Profile,
  dir: string,
  log: (line: string) => void,
): Promise<BacklogResult> {
  const downPort = await freePort() // nothing will listen here: the receiver is down
  const result: BacklogResult = {
    system: definition.id,
    messages: profile.backlog,
    leftWithBroker: profile.backlog,
    complete: false,
    seconds: Number.NaN,
    intakePerSecond: Number.NaN,
    peakRssBytes: 0,
    finalRssBytes: 0,
    spoolBytes: 0,
    cpuMsPer1k: Number.NaN,
  }
  const benchDir = join(dir, `${definition.id}-backlog`)
  let bench: Bench | undefined
  try {
    bench = await openBench(definition, benchDir, `http://127.0.0.1:${downPort}/ingest`)
    const { pid } = bench.system
    await ready(bench)
    const store = () =>
      bench!.publisher.channel.call<{ value: number; at: number } | null>('brokerStore', undefined, 10_000)
    const baseline = await waitFor(async () => (await store()) ?? undefined, {
      what: 'the broker store count',
      timeoutMs: 10_000,
      intervalMs: 200,
    })
    const cpuBefore = procStats(pid)?.cpuMs ?? Number.NaN
    const started = Date.now()
    const publishing = bench.publisher.channel.call<PublishReport>(
      'burst',
      { run: 0, count: profile.backlog, window: 20_000, deadlineMs: profile.backlogCapMs },
      profile.backlogCapMs + 30_000,
    )
    let published: PublishReport | undefined
    void publishing.then((r) => {
      published = r
    })
    let lastLog = Date.now()
    // Done when everything is published and, after a fresh $SYS update, the broker holds nothing for us.
    for (;;) {
      await sleep(500)
      const stats = procStats(pid)
      if (!stats) throw new Error('the system exited while taking the backlog')
      result.peakRssBytes = Math.max(result.peakRssBytes, stats.peakRssBytes)
      const held = await store()
      const left = Math.max(0, (held?.value ?? 0) - baseline.value)
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now()
        log(`  ${Math.round((Date.now() - started) / 1000)} s: broker holds ${left}, RSS ${mb(stats.rssBytes)} MB`)
      }
      if (published && held && held.at > started + 1_000 && left === 0) {
        result.complete = published.acked === profile.backlog
        result.leftWithBroker = profile.backlog - published.acked
        break
      }
      if (Date.now() - started > profile.backlogCapMs) {
        result.leftWithBroker = left + (published ? profile.backlog - published.acked : 0)
        break
      }
    }
    result.seconds = (Date.now() - started) / 1000
    const taken = profile.backlog - result.leftWithBroker
    result.intakePerSecond = taken / result.seconds
    const after = procStats(pid)!
    result.finalRssBytes = after.rssBytes
    result.peakRssBytes = Math.max(result.peakRssBytes, after.peakRssBytes)
    result.cpuMsPer1k = taken > 0 ? ((after.cpuMs - cpuBefore) * 1000) / taken : Number.NaN
    result.spoolBytes = directoryBytes(join(benchDir, 'system/data'))
    await publishing.catch(() => undefined)
  } catch (err) {
    result.error = (err as Error).message
  } finally {
    await bench?.close()
  }
  log(
    `  backlog ${taken(result)}/${result.messages} in ${result.seconds.toFixed(0)} s ` +
      `(${Math.round(result.intakePerSecond)}/s): peak RSS ${mb(result.peakRssBytes)} MB, ` +
      `spool ${mb(result.spoolBytes)} MB${result.error ? `, error: ${result.error}` : ''}`,
  )
  return result
}

const taken = (r: BacklogResult) => r.messages - r.leftWithBroker
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0)
