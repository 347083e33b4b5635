// hookbridge's own cost per message, without the network: the bench rule's messages go through ingest, the spool
// and the delivery worker in this process, with a stub sender that answers 200 at the next setImmediate (no MQTT,
// no HTTP, no broker, no receiver). Prints CPU µs per message (all threads), so two builds can be compared with
// far less noise than a burst through the whole bench; run each build in fresh processes, alternately.
//
//   npm run build && npx tsc -p bench/tsconfig.json
//   node bench/results/tmp/build/in-process.js [--mode=memory|durable] [--count=50000] [--reps=3] [--dist=<dir>]
//   node --cpu-prof bench/results/tmp/build/in-process.js ...   (then profile-summary.js on the .cpuprofile)
//   --alloc: also bytes allocated per message and the functions that allocate most (V8's sampling heap profiler,
//   collected objects included; steadier than CPU time for comparing two builds)
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { repoRoot, tmpDir } from './lib/paths.js'
import { EXPRESSION, payloadOf, RULE_FILTER, SUBSCRIPTION, topicOf } from './lib/workload.js'

const args = process.argv.slice(2)
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const mode = flag('mode') ?? 'memory'
if (mode !== 'memory' && mode !== 'durable') throw new Error(`--mode must be memory or durable, not ${mode}`)
const count = Number(flag('count') ?? 50_000)
const reps = Number(flag('reps') ?? 3)
const alloc = args.includes('--alloc')
const distDir = resolve(flag('dist') ?? join(repoRoot, 'dist'))

// The built modules, typed as loosely as this harness uses them (the bench compiles apart from src/).
interface Message {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  receivedAt: number
}
interface Spool {
  stats(now: number): unknown
  close(): Promise<void>
}
interface AttemptEvent {
  job: { rule: string; target: string; message: { receivedAt: number } }
  action: string
  record: { code?: string }
}
interface Metrics {
  messageReceived(): void
  ruleMatched(rule: string): void
  ruleFiltered(rule: string, reason: string): void
  ruleSeconds(rule: string, seconds: number): void
  jobEnqueued(rule: string, target: string): void
  attempt(labels: object, outcome: string, action: string, code: string | undefined): void
}

const load = (path: string) => import(pathToFileURL(join(distDir, path)).href)
const [compile, ruleSet, schema, memorySpool, sqliteSpool, ingestModule, workerModule, targets, metricsModule, logger] =
  await Promise.all(
    [
      'rules/compile.js',
      'rules/rule-set.js',
      'rules/schema.js',
      'spool/memory-spool.js',
      'spool/sqlite-spool.js',
      'mqtt/ingest.js',
      'delivery/worker.js',
      'delivery/targets.js',
      'observability/metrics.js',
      'observability/logger.js',
    ].map(load),
  )

/** CPU time of this process's main thread in µs (Linux: its task's utime + stime, 10 ms ticks), else undefined. */
function mainThreadCpuUs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10_000
  } catch {
    return undefined
  }
}

/**
 * One pass of `n` messages, 1,000 handed to ingest at a time; resolves once all are delivered. CPU µs per message,
 * all threads and the main thread alone (the durable spool's writer thread runs beside it).
 */
async function pass(n: number, dir: string): Promise<{ all: number; main: number | undefined }> {
  const issues: unknown[] = []
  const definition = schema.ruleSchema.parse({
    from: { topic: RULE_FILTER, qos: 1 },
    transform: EXPRESSION,
    to: { url: 'http://127.0.0.1:9/ingest' },
  })
  const rule = compile.compileRule(definition, 'bench', 'bench.json', { env: {} }, issues)
  if (!rule) throw new Error(`the bench rule does not compile: ${JSON.stringify(issues)}`)
  const rules = ruleSet.createRuleSet([rule])
  mkdirSync(dir, { recursive: true })
  const spool: Spool =
    mode === 'durable'
      ? sqliteSpool.createSqliteSpool({ file: join(dir, 'spool.db') })
      : memorySpool.createMemorySpool()
  const metrics: Metrics = metricsModule.createMetrics({
    spool: () => spool.stats(Date.now()),
    mqttConnected: () => true,
    mqttReconnects: () => 0,
    backpressurePaused: () => false,
    rulesReloadFailed: () => false,
    rulesLoaded: () => 1,
  })
  let delivered = 0
  let allDelivered: () => void = () => {}
  const done = new Promise<void>((resolve) => (allDelivered = resolve))
  const answer = {
    status: 200,
    headers: { 'content-type': 'text/plain', 'content-length': '2' },
    body: Buffer.from('ok'),
    durationMs: 0,
  }
  const sender = {
    send: () => new Promise((resolve) => setImmediate(() => resolve(answer))),
    async close() {},
  }
  const worker = workerModule.createDeliveryWorker({
    spool,
    sender,
    logger: logger.silentLogger(),
    defaultTimeoutMs: 10_000,
    maxInFlight: 256,
    concurrencyPerOrigin: 16,
    targetOf: targets.createTargetLookup(() => rules, 10_000),
    onAttempt({ job, action, record }: AttemptEvent) {
      const labels = { rule: job.rule, target: job.target, receivedAt: job.message.receivedAt, carriedOver: false }
      metrics.attempt(labels, 'success', action, record.code)
      if (++delivered === n) allDelivered()
    },
  })
  const ingest = ingestModule.createIngest({
    rules: () => rules,
    spool,
    logger: logger.silentLogger(),
    observer: {
      received: metrics.messageReceived,
      matched: metrics.ruleMatched,
      filtered: metrics.ruleFiltered,
      ruleSeconds: metrics.ruleSeconds,
      enqueued: (job: { rule: string; target: string }) => metrics.jobEnqueued(job.rule, job.target),
      deadAtIntake() {},
      qos0Dropped() {},
    },
    onEnqueued: () => worker.notify(),
  })
  worker.start()
  // As MQTT 5 copies arrive: through the rule's subscription.
  const via = new Set([SUBSCRIPTION])
  const started = process.cpuUsage()
  const mainStarted = mainThreadCpuUs()
  for (let first = 0; first < n; first += 1000) {
    const handled: Promise<void>[] = []
    for (let seq = first; seq < Math.min(n, first + 1000); seq++) {
      const message: Message = {
        topic: topicOf(seq),
        payload: Buffer.from(payloadOf(1, seq, 123_456_789)),
        qos: 1,
        retain: false,
        receivedAt: Date.now(),
      }
      handled.push(ingest.handle(message, via))
    }
    await Promise.all(handled)
  }
  await done
  const cpu = process.cpuUsage(started)
  const mainEnded = mainThreadCpuUs()
  await worker.stop(1000)
  await spool.close()
  rmSync(dir, { recursive: true, force: true })
  const main = mainStarted === undefined || mainEnded === undefined ? undefined : (mainEnded - mainStarted) / n
  return { all: (cpu.user + cpu.system) / n, main }
}

interface SamplingNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: SamplingNode[]
}

/** Bytes allocated per message, by function (file:line of its start), largest first. */
function allocationsBySite(head: SamplingNode, messages: number): { perMessage: number; top: string[] } {
  const bySite = new Map<string, number>()
  let total = 0
  const walk = (node: SamplingNode) => {
    const { functionName, url, lineNumber } = node.callFrame
    const file = url.replace(/.*\/dist\//, 'dist/').replace(/.*\/node_modules\//, 'npm:')
    const site = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
    total += node.selfSize
    for (const child of node.children) walk(child)
  }
  walk(head)
  const top = [...bySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([site, bytes]) => `${Math.round(bytes / messages)} B  ${site}`)
  return { perMessage: Math.round(total / messages), top }
}

const dir = join(tmpDir, `in-process-${process.pid}`)
// The first pass warms up (JIT, heap sizes) and is not reported.
await pass(Math.min(count, 20_000), join(dir, 'warm-up'))
const session = new Session()
if (alloc) {
  session.connect()
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  })
}
const passes: { all: number; main: number | undefined }[] = []
for (let rep = 0; rep < reps; rep++) passes.push(await pass(count, join(dir, `rep-${rep}`)))
rmSync(dir, { recursive: true, force: true })
const round = (us: number | undefined) => (us === undefined ? null : Math.round(us * 10) / 10)
console.log(
  JSON.stringify({
    dist: distDir,
    mode,
    count,
    cpuUsPerMessage: passes.map((p) => round(p.all)),
    mainThreadUsPerMessage: passes.map((p) => round(p.main)),
  }),
)
if (alloc) {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } }
  const { perMessage: bytes, top } = allocationsBySite(profile.head, count * reps)
  console.log(`allocated per message: ${bytes} B (this harness's own messages included); by function:`)
  for (const line of top) console.log(`  ${line}`)
  session.disconnect()
}
