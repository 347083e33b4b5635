// The test bench around one system: a fresh broker, the publisher and the system under test, plus the receiver
// (shared by every run). Runs the phases — probe, warm-up, fixed rate, burst — and measures the system's process.
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { RunningSystem, SystemDefinition } from '../systems/system.js'
import { type Broker, startBroker } from './broker.js'
import { type Actor, forkActor, procStats, sleep } from './procs.js'
import type { PublishReport } from './publisher-types.js'
import { monotonicUs } from './workload.js'

export interface ReceiverStats {
  run: number
  expected: number
  unique: number
  total: number
  duplicates: number
  strays: number
  malformed: number
  firstUs: number
  lastUs: number
  peakConnections: number
}

export interface LatencyStats {
  count: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

let nextRun = 1
/** A run id no other phase of this bench uses: the receiver counts only messages carrying it. */
export const newRun = () => nextRun++

export type Receiver = Actor<{ port: number }>

export function startReceiver(dir: string, port?: number): Promise<Receiver> {
  return forkActor<{ port: number }>(join(import.meta.dirname, '../actors/receiver.js'), {
    logFile: join(dir, 'receiver.log'),
    env: port === undefined ? {} : { RECEIVER_PORT: String(port) },
  })
}

export interface Bench {
  broker: Broker
  publisher: Actor
  system: RunningSystem
  close(): Promise<void>
}

/** Broker, publisher and system, started fresh; `close` stops all three. */
export async function openBench(
  definition: SystemDefinition,
  dir: string,
  targetUrl: string,
  execArgv?: string[],
): Promise<Bench> {
  mkdirSync(dir, { recursive: true })
  const broker = await startBroker(join(dir, 'broker'))
  let publisher: Actor | undefined
  let system: RunningSystem | undefined
  try {
    publisher = await forkActor(join(import.meta.dirname, '../actors/publisher.js'), {
      env: { BENCH_BROKER_URL: broker.url },
      logFile: join(dir, 'publisher.log'),
    })
    const systemDir = join(dir, 'system')
    mkdirSync(systemDir, { recursive: true })
    system = await definition.start({ brokerUrl: broker.url, targetUrl, dir: systemDir, execArgv })
  } catch (err) {
    await publisher?.stop()
    await broker.stop()
    throw err
  }
  const started = { publisher, system }
  return {
    broker,
    ...started,
    async close() {
      await started.system.stop()
      await started.publisher.stop()
      await broker.stop()
      // A spool of a million messages is hundreds of MB: keep the logs, not the data.
      rmSync(join(dir, 'system/data'), { recursive: true, force: true })
    },
  }
}

export interface Delivery {
  stats: ReceiverStats
  /** Every expected message arrived. */
  complete: boolean
  /** Waiting ended because nothing arrived for idleMs, or because of the cap. */
  stoppedBy?: 'idle' | 'cap'
}

/** Waits until the receiver has every message of the run, nothing new came for idleMs, or capMs passed. */
export async function awaitDelivery(receiver: Receiver, options: { idleMs: number; capMs: number }): Promise<Delivery> {
  const started = Date.now()
  let lastUnique = -1
  let lastProgress = Date.now()
  for (;;) {
    const stats = await receiver.channel.call<ReceiverStats>('stats')
    if (stats.unique >= stats.expected) return { stats, complete: true }
    if (stats.unique !== lastUnique) {
      lastUnique = stats.unique
      lastProgress = Date.now()
    }
    if (Date.now() - lastProgress > options.idleMs) return { stats, complete: false, stoppedBy: 'idle' }
    if (Date.now() - started > options.capMs) return { stats, complete: false, stoppedBy: 'cap' }
    await sleep(100)
  }
}

/** Publishes a message every 250 ms until one arrives through the system (it is connected and subscribed). */
export async function probe(bench: Bench, receiver: Receiver, timeoutMs: number): Promise<void> {
  const run = newRun()
  await receiver.channel.call('expect', { run, count: 1_000_000 })
  const deadline = Date.now() + timeoutMs
  for (let seq = 0; Date.now() < deadline; seq++) {
    await bench.publisher.channel.call('one', { run, seq }, 10_000)
    await sleep(250)
    const stats = await receiver.channel.call<ReceiverStats>('stats')
    if (stats.unique > 0) return
    if (procStats(bench.system.pid) === undefined) throw new Error('the system under test exited during start-up')
  }
  throw new Error(`no message came through within ${timeoutMs} ms of start-up`)
}

export interface BurstResult {
  published: number
  delivered: number
  lost: number
  duplicates: number
  complete: boolean
  /**
   * Delivered messages per second: those delivered, over the time from the first publish until the last receipt
   * (or until the publisher finished, if later). A system that loses messages is not credited for them.
   */
  perSecond: number
  /** Messages per second between the first and the last receipt (how fast it went while it delivered). */
  receiptRate: number
  /** Messages per second the publisher got acknowledged by the broker. */
  publishPerSecond: number
  /** CPU time of the system's process per 1,000 delivered messages. */
  cpuMsPer1k: number
  receiverPeakConnections: number
}

export async function burst(
  bench: Bench,
  receiver: Receiver,
  count: number,
  options: { idleMs: number; capMs: number },
): Promise<BurstResult> {
  const run = newRun()
  await receiver.channel.call('expect', { run, count })
  const cpuBefore = procStats(bench.system.pid)?.cpuMs ?? Number.NaN
  const startedUs = monotonicUs()
  const publishing = bench.publisher.channel.call<PublishReport>('burst', { run, count, deadlineMs: options.capMs })
  const delivery = await awaitDelivery(receiver, options)
  const cpuAfter = procStats(bench.system.pid)?.cpuMs ?? Number.NaN
  const published = await publishing
  const { stats } = delivery
  const spanS = (stats.lastUs - stats.firstUs) / 1e6
  const publishedUs = startedUs + published.ms * 1000
  const burstS = (Math.max(stats.lastUs, publishedUs) - startedUs) / 1e6
  return {
    published: published.acked,
    delivered: stats.unique,
    lost: count - stats.unique,
    duplicates: stats.duplicates,
    complete: delivery.complete,
    perSecond: burstS > 0 ? stats.unique / burstS : Number.NaN,
    receiptRate: stats.unique > 1 && spanS > 0 ? (stats.unique - 1) / spanS : Number.NaN,
    publishPerSecond: published.ms > 0 ? (published.acked * 1000) / published.ms : Number.NaN,
    cpuMsPer1k: stats.unique > 0 ? ((cpuAfter - cpuBefore) * 1000) / stats.unique : Number.NaN,
    receiverPeakConnections: stats.peakConnections,
  }
}

export interface RateResult extends LatencyStats {
  perSecond: number
  published: number
  delivered: number
  lost: number
  duplicates: number
  complete: boolean
  /** Largest delay of the publisher behind its schedule: above a few ms, the figures are the load generator's. */
  publisherMaxLagMs: number
  cpuMsPer1k: number
}

export async function fixedRate(
  bench: Bench,
  receiver: Receiver,
  perSecond: number,
  durationMs: number,
  options: { idleMs: number; capMs: number },
): Promise<RateResult> {
  const run = newRun()
  const count = Math.round((perSecond * durationMs) / 1000)
  await receiver.channel.call('expect', { run, count })
  const cpuBefore = procStats(bench.system.pid)?.cpuMs ?? Number.NaN
  const startedUs = monotonicUs()
  const published = await bench.publisher.channel.call<PublishReport>('rate', {
    run,
    perSecond,
    durationMs,
    deadlineMs: durationMs * 2 + options.capMs,
  })
  const remainingCapMs = Math.max(1_000, options.capMs - (monotonicUs() - startedUs) / 1000 + durationMs)
  const delivery = await awaitDelivery(receiver, { idleMs: options.idleMs, capMs: remainingCapMs })
  // A phase cut short leaves its backlog with the system: the pipeline restarts it before the next phase.
  const cpuAfter = procStats(bench.system.pid)?.cpuMs ?? Number.NaN
  const latency = await receiver.channel.call<LatencyStats>('latency')
  return {
    perSecond,
    published: published.acked,
    delivered: delivery.stats.unique,
    lost: count - delivery.stats.unique,
    duplicates: delivery.stats.duplicates,
    complete: delivery.complete,
    publisherMaxLagMs: published.maxLagMs,
    cpuMsPer1k: delivery.stats.unique > 0 ? ((cpuAfter - cpuBefore) * 1000) / delivery.stats.unique : Number.NaN,
    ...latency,
  }
}
