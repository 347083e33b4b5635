// `npm run bench`: the same MQTT -> HTTP workload through hookbridge (durable and memory spool), the raw pipe
// (with the transform, and without: the ceiling) and Node-RED, on one spawned mosquitto and one receiver; then
// the backlog with the receiver down, HTTP publish against a raw handler, and two micro-benchmarks. Writes
// bench/results/latest.{json,md,svg}.
//
// Flags: --quick (2-minute smoke run), --reps=N, --burst=N, --backlog=N, --rates=N,...|none, --only=<system id,...>,
// --phases=pipeline,backlog,http,micro,
// --cpu-prof (profile the systems under test into bench/results/tmp/profiles/<system>), --no-write,
// --variant-dist=<patched copy of dist/>, --variant-config=<json> and/or --variant-node-args="<node flags>": measure a change side by side,
// --at=<git revision>: measure that commit (exported with git archive and built apart) instead of the working tree.
import { execFileSync, execSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { startReceiver } from './lib/harness.js'
import { nodeRedPrefix, repoRoot, resultsDir, tmpDir } from './lib/paths.js'
import { forkActor } from './lib/procs.js'
import { fullProfile, quickProfile } from './lib/profile.js'
import { markdown, svg } from './lib/report.js'
import { pipelineRatios, type Results, summarizePipeline, type Target } from './lib/results.js'
import { median, ratio } from './lib/stats.js'
import { measureBacklog } from './phases/backlog.js'
import { type HttpPublishResult, measureHttpPublish } from './phases/http-publish.js'
import { measurePipeline } from './phases/pipeline.js'
import { hookbridgeDurable, hookbridgeMemory, hookbridgeVariant, useHookbridgeBuild } from './systems/hookbridge.js'
import { nodeRed } from './systems/node-red.js'
import { rawCeiling, rawPipe } from './systems/raw.js'
import type { SystemDefinition } from './systems/system.js'

const args = process.argv.slice(2)
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
// --reps=N, --burst=N and --backlog=N override the profile (e.g. three quick repetitions to compare a variant);
// --rates=1000,5000 the fixed rates of the latency runs (--rates=none: the burst alone).
const profile = {
  ...(args.includes('--quick') ? quickProfile : fullProfile),
  ...(flag('reps') && { reps: Number(flag('reps')) }),
  ...(flag('burst') && { burst: Number(flag('burst')) }),
  ...(flag('backlog') && { backlog: Number(flag('backlog')) }),
  ...(flag('rates') && { rates: flag('rates') === 'none' ? [] : flag('rates')!.split(',').map(Number) }),
}
const only = flag('only')?.split(',')
const phases = new Set(flag('phases')?.split(',') ?? ['pipeline', 'backlog', 'http', 'micro'])
const cpuProf = args.includes('--cpu-prof')
const started = Date.now()
const stamp = new Date(started).toISOString().replace(/[:.]/g, '-')
const runDir = join(tmpDir, `run-${stamp}`)
// Keep the work files (logs, configs, results.json) of the last few runs only.
for (const old of readdirSync(tmpDir, { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name.startsWith('run-'))
  .map((e) => e.name)
  .sort()
  .slice(0, -4))
  rmSync(join(tmpDir, old), { recursive: true, force: true })
mkdirSync(runDir, { recursive: true })
const log = (line: string) => process.stdout.write(`${line}\n`)

/** Exports a revision's sources, builds them apart (with the working tree's node_modules) and returns its dist/. */
function buildRevision(rev: string): { dist: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], {
    cwd: repoRoot,
    encoding: 'utf8',
  }).trim()
  const dir = join(tmpDir, `rev-${commit.slice(0, 12)}`)
  if (!existsSync(join(dir, 'dist/cli/main.js'))) {
    log(`building ${commit.slice(0, 12)} into ${dir}`)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir, { recursive: true })
    execSync(
      `git archive ${commit} src tsconfig.json tsconfig.build.json package.json | tar -x -C ${JSON.stringify(dir)}`,
      {
        cwd: repoRoot,
      },
    )
    execFileSync(process.execPath, [
      join(repoRoot, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(dir, 'tsconfig.build.json'),
    ])
  }
  return { dist: join(dir, 'dist'), commit }
}

let build = 'working tree (dist/)'
const at = flag('at')
if (at) {
  const { dist, commit } = buildRevision(at)
  useHookbridgeBuild(dist)
  process.env.BENCH_DIST = dist // the micro-benchmarks load hookbridge's modules from it
  build = `commit ${commit}`
}

const allSystems: SystemDefinition[] = [hookbridgeDurable, hookbridgeMemory, rawPipe, rawCeiling, nodeRed]
const variantDist = flag('variant-dist')
const variantConfig = flag('variant-config')
const variantNodeArgs = flag('variant-node-args')?.split(' ').filter(Boolean)
if (variantDist || variantConfig || variantNodeArgs) {
  allSystems.splice(
    1,
    0,
    hookbridgeVariant({
      cli: variantDist && resolve(variantDist, 'cli/main.js'),
      config: variantConfig ? (JSON.parse(variantConfig) as Record<string, unknown>) : undefined,
      nodeArgs: variantNodeArgs,
    }),
  )
}
const systems = allSystems.filter((s) => !only || only.includes(s.id))

function version(path: string): string {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version
  } catch {
    return 'n/a'
  }
}

function machine(): Record<string, unknown> {
  let mosquitto = 'n/a'
  try {
    mosquitto = /version ([\d.]+)/.exec(execFileSync('mosquitto', ['-h'], { encoding: 'utf8' }))?.[1] ?? mosquitto
  } catch (err) {
    // `mosquitto -h` exits with 3 after printing its version.
    mosquitto = /version ([\d.]+)/.exec(String((err as { stdout?: string }).stdout))?.[1] ?? mosquitto
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `Linux ${release()}`,
    node: process.versions.node,
    mosquitto,
    loadAverageStart: loadavg(),
  }
}

const results: Results = {
  generatedAt: new Date(started).toISOString(),
  command: `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
  profile,
  durationS: 0,
  machine: machine(),
  versions: {
    hookbridge: version(join(repoRoot, 'package.json')),
    hookbridgeBuild: build,
    mqtt: version(join(repoRoot, 'node_modules/mqtt/package.json')),
    undici: version(join(repoRoot, 'node_modules/undici/package.json')),
    jsonata: version(join(repoRoot, 'node_modules/jsonata/package.json')),
  },
  systems: [],
  pipeline: { reps: [], summary: {} },
  ratios: {},
  backlog: [],
  httpPublish: { reps: [], summary: {}, ratio: Number.NaN },
  micro: {},
  targets: [],
}

log(`hookbridge bench, ${profile.name} profile; work files in ${runDir}`)
for (const s of systems) {
  const skipped = phases.has('pipeline') ? await s.unavailable?.() : undefined
  results.systems.push({ id: s.id, label: s.label, ...(skipped && { skipped }) })
  if (skipped) log(`${s.label}: skipped (${skipped})`)
}
results.versions.nodeRed = version(join(nodeRedPrefix, 'node_modules/node-red/package.json'))
const runnable = systems.filter((s) => !results.systems.find((i) => i.id === s.id)?.skipped)

if (phases.has('pipeline')) {
  const receiver = await startReceiver(runDir)
  try {
    for (let rep = 1; rep <= profile.reps; rep++) {
      // Each repetition starts with a different system, so none always runs first (or last) on a warm machine.
      const order = runnable.map((_, i) => runnable[(i + rep - 1) % runnable.length]!)
      for (const system of order) {
        log(`[pipeline ${rep}/${profile.reps}] ${system.label}`)
        const execArgv = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${join(tmpDir, 'profiles', system.id)}`] : undefined
        results.pipeline.reps.push(await measurePipeline(system, rep, profile, receiver, runDir, log, execArgv))
      }
    }
  } finally {
    await receiver.stop()
  }
  for (const s of runnable)
    results.pipeline.summary[s.id] = summarizePipeline(results.pipeline.reps, s.id, profile.rates)
  for (const a of ['hookbridge-durable', 'hookbridge-variant', 'hookbridge-memory']) {
    for (const b of ['hookbridge-durable', 'raw-pipe', 'raw-ceiling', 'node-red']) {
      if (a !== b && results.pipeline.summary[a] && results.pipeline.summary[b])
        results.ratios[`${a} / ${b}`] = pipelineRatios(results.pipeline.reps, a, b)
    }
  }
}

if (phases.has('backlog')) {
  const backlogSystems = allSystems.filter((s) => s.id === 'hookbridge-durable' || s.id === 'hookbridge-variant')
  for (const system of backlogSystems.filter((s) => !only || only.includes(s.id))) {
    log(`[backlog] ${system.label}: ${profile.backlog.toLocaleString('en-US')} messages, receiver down`)
    results.backlog.push(await measureBacklog(system, profile, runDir, log))
  }
}

if (phases.has('http')) {
  for (let rep = 1; rep <= profile.reps; rep++) {
    const order: Array<HttpPublishResult['system']> = rep % 2 ? ['hookbridge', 'raw-hono'] : ['raw-hono', 'hookbridge']
    if (variantDist) order.splice(rep % 2, 0, 'hookbridge-variant')
    for (const system of order) {
      const execArgv = cpuProf
        ? ['--cpu-prof', `--cpu-prof-dir=${join(tmpDir, 'profiles', `http-${system}`)}`]
        : undefined
      const variantCli = variantDist && resolve(variantDist, 'cli/main.js')
      const r = await measureHttpPublish(system, rep, profile, runDir, execArgv, variantCli)
      log(
        `[http ${rep}/${profile.reps}] ${system}: ${Math.round(r.requestsPerSecond)} req/s, p99 ${r.p99Ms} ms` +
          `${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}${r.error ? `, error: ${r.error}` : ''}`,
      )
      results.httpPublish.reps.push(r)
    }
  }
  for (const system of ['hookbridge', 'hookbridge-variant', 'raw-hono'] as const) {
    const mine = results.httpPublish.reps.filter((r) => r.system === system)
    if (mine.length === 0) continue
    results.httpPublish.summary[system] = {
      requestsPerSecond: median(mine.map((r) => r.requestsPerSecond)),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      non2xx: median(mine.map((r) => r.non2xx)),
      cpuMsPer1k: median(mine.map((r) => r.cpuMsPer1k)),
      peakRssMB: median(mine.map((r) => r.peakRssBytes / 1048576)),
    }
  }
  results.httpPublish.ratio = median(
    Array.from({ length: profile.reps }, (_, i) => {
      const of = (s: string) => results.httpPublish.reps.find((r) => r.system === s && r.rep === i + 1)
      return ratio(of('hookbridge')?.requestsPerSecond, of('raw-hono')?.requestsPerSecond)
    }),
  )
}

if (phases.has('micro')) {
  for (const name of ['topic-matching', 'jsonata', 'spool'] as const) {
    log(`[micro] ${name}`)
    const actor = await forkActor(join(import.meta.dirname, `micro/${name}.js`), {
      logFile: join(runDir, `${name}.log`),
    })
    try {
      const value = await actor.channel.call('run', { ms: profile.microMs }, 600_000)
      if (name === 'topic-matching') results.micro.topicMatching = value as Results['micro']['topicMatching']
      else if (name === 'jsonata') results.micro.jsonata = value as Record<string, number>
      else results.micro.spool = value as Record<string, number>
    } finally {
      await actor.stop()
    }
  }
}

results.targets = targets(results)
results.durationS = (Date.now() - started) / 1000
results.machine.loadAverageEnd = loadavg()

function targets(r: Results): Target[] {
  const out: Target[] = []
  const add = (t: Omit<Target, 'met'>, ok: (v: number) => boolean) =>
    out.push({ ...t, met: Number.isFinite(t.value) ? ok(t.value) : null })
  const throughput = (pair: string) => r.ratios[pair]?.deliveredPerSecond ?? Number.NaN
  add(
    {
      id: 'throughput-vs-raw',
      description: 'delivered msg/s, durable spool / raw pipe (same transform)',
      target: '≥ 1×',
      value: throughput('hookbridge-durable / raw-pipe'),
      unit: '×',
    },
    (v) => v >= 1,
  )
  add(
    {
      id: 'throughput-vs-node-red',
      description: 'delivered msg/s, durable spool / Node-RED',
      target: '≥ 8×',
      value: throughput('hookbridge-durable / node-red'),
      unit: '×',
    },
    (v) => v >= 8,
  )
  add(
    {
      id: 'p99-at-1k',
      description: 'p99 latency at 1k msg/s, durable spool',
      target: '≤ 10 ms',
      value: r.pipeline.summary['hookbridge-durable']?.latency['1000']?.p99Ms ?? Number.NaN,
      unit: ' ms',
    },
    (v) => v <= 10,
  )
  const b = r.backlog.find((x) => x.system === 'hookbridge-durable')
  add(
    {
      id: 'backlog-rss',
      description:
        `peak RSS with ${r.profile.backlog.toLocaleString('en-US')} messages backlogged, durable spool` +
        (b && !b.complete ? ` (only ${(b.messages - b.leftWithBroker).toLocaleString('en-US')} taken)` : ''),
      target: '≤ 200 MB',
      value: b ? b.peakRssBytes / 1048576 : Number.NaN,
      unit: ' MB',
    },
    (v) => v <= 200 && b?.complete === true,
  )
  add(
    {
      id: 'http-publish',
      description: 'HTTP publish req/s, hookbridge / raw hono handler',
      target: '≥ 0.7×',
      value: r.httpPublish.ratio,
      unit: '×',
    },
    (v) => v >= 0.7,
  )
  return out
}

const json = JSON.stringify(results, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)
const md = markdown(results)
writeFileSync(join(runDir, 'results.json'), json)
if (!args.includes('--no-write')) {
  writeFileSync(join(resultsDir, 'latest.json'), `${json}\n`)
  writeFileSync(join(resultsDir, 'latest.md'), md)
  writeFileSync(join(resultsDir, 'latest.svg'), svg(results))
}
log(`\n${md}`)
log(`done in ${Math.round(results.durationS)} s${args.includes('--no-write') ? '' : ': bench/results/latest.*'}`)
