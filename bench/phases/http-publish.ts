// HTTP -> MQTT: requests per second that hookbridge's POST /v1/publish/{topic} answers at QoS 1 (200 only after
// the broker's PUBACK), against a raw hono -> MQTT.js handler doing the same with nothing else. autocannon runs in
// a process of its own; each system gets a fresh broker and a short warm-up that is not counted.
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startBroker } from '../lib/broker.js'
import { repoRoot } from '../lib/paths.js'
import { forkActor, procStats, waitFor } from '../lib/procs.js'
import type { Profile } from '../lib/profile.js'
import { startHookbridge } from '../systems/hookbridge.js'

export interface HttpPublishResult {
  system: 'hookbridge' | 'hookbridge-variant' | 'raw-hono'
  rep: number
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  non2xx: number
  errors: number
  cpuMsPer1k: number
  peakRssBytes: number
  error?: string
}

interface AutocannonOutput {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  non2xx: number
  errors: number
  timeouts: number
}

const autocannonBin = join(repoRoot, 'node_modules/autocannon/autocannon.js')
const PATH = '/v1/publish/bench-api/readings?qos=1'

function autocannon(url: string, seconds: number, connections: number): Promise<AutocannonOutput> {
  return new Promise((resolve, reject) => {
    const args = [autocannonBin, '-j', '-c', String(connections), '-d', String(seconds), '-m', 'POST']
    args.push('-H', 'content-type=application/json', '-b', '{"celsius":21.5,"humidity":40}', url)
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as AutocannonOutput)
      } catch {
        reject(new Error(`autocannon exited with ${code}: ${err.slice(-500)}`))
      }
    })
  })
}

export async function measureHttpPublish(
  system: HttpPublishResult['system'],
  rep: number,
  profile: Profile,
  dir: string,
  execArgv?: string[],
  /** For 'hookbridge-variant': the CLI of a patched build. */
  variantCli?: string,
): Promise<HttpPublishResult> {
  const runDir = join(dir, `http-${system}-rep${rep}`)
  mkdirSync(join(runDir, 'system'), { recursive: true })
  const broker = await startBroker(join(runDir, 'broker'))
  const result: HttpPublishResult = {
    system,
    rep,
    requestsPerSecond: Number.NaN,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    non2xx: 0,
    errors: 0,
    cpuMsPer1k: Number.NaN,
    peakRssBytes: 0,
  }
  let stop: (() => Promise<void>) | undefined
  try {
    let port: number
    let pid: number
    if (system !== 'raw-hono') {
      const running = await startHookbridge(
        { brokerUrl: broker.url, targetUrl: 'http://127.0.0.1:9/unused', dir: join(runDir, 'system'), execArgv },
        { mode: 'durable', cli: system === 'hookbridge-variant' ? variantCli : undefined },
      )
      stop = running.stop
      port = running.httpPort!
      pid = running.pid
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok, {
        what: 'hookbridge /readyz',
        timeoutMs: 60_000,
        intervalMs: 200,
      })
    } else {
      const actor = await forkActor<{ port: number }>(join(import.meta.dirname, '../systems/raw-publish-api.js'), {
        env: { BENCH_BROKER_URL: broker.url },
        logFile: join(runDir, 'system/raw-publish-api.log'),
        execArgv,
      })
      stop = actor.stop
      port = actor.ready.port
      pid = actor.child.pid!
    }
    const url = `http://127.0.0.1:${port}${PATH}`
    await autocannon(url, Math.min(2, profile.httpDurationS), profile.httpConnections)
    const cpuBefore = procStats(pid)?.cpuMs ?? Number.NaN
    const out = await autocannon(url, profile.httpDurationS, profile.httpConnections)
    const cpuAfter = procStats(pid)?.cpuMs ?? Number.NaN
    result.requestsPerSecond = out.requests.average
    result.p50Ms = out.latency.p50
    result.p99Ms = out.latency.p99
    result.non2xx = out.non2xx
    result.errors = out.errors + out.timeouts
    result.cpuMsPer1k = out.requests.total > 0 ? ((cpuAfter - cpuBefore) * 1000) / out.requests.total : Number.NaN
    result.peakRssBytes = procStats(pid)?.peakRssBytes ?? 0
  } catch (err) {
    result.error = (err as Error).message
  } finally {
    await stop?.()
    await broker.stop()
  }
  return result
}
