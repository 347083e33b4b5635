// Where a system spends its time under saturation: starts it with `node --cpu-prof`, warms it up, sends one burst,
// stops it, and summarises the profile over the burst only (start-up and shutdown left out).
//
//   npm run build && npx tsc -p bench/tsconfig.json
//   node bench/results/tmp/build/profile.js hookbridge-durable [--count=30000] [--variant-dist=<dir>] [--variant-config=<json>]
import { mkdirSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { burst, openBench, probe, startReceiver } from './lib/harness.js'
import { tmpDir } from './lib/paths.js'
import { monotonicUs } from './lib/workload.js'
import { summarize } from './profile-summary.js'
import { hookbridgeDurable, hookbridgeMemory, hookbridgeVariant } from './systems/hookbridge.js'
import { nodeRed } from './systems/node-red.js'
import { rawCeiling, rawPipe } from './systems/raw.js'

const args = process.argv.slice(2)
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const id = args.find((a) => !a.startsWith('--')) ?? 'hookbridge-durable'
const count = Number(flag('count') ?? 30_000)
const variantDist = flag('variant-dist')
const variantConfig = flag('variant-config')
const variant = hookbridgeVariant({
  cli: variantDist && resolve(variantDist, 'cli/main.js'),
  config: variantConfig ? (JSON.parse(variantConfig) as Record<string, unknown>) : undefined,
})
const system = [hookbridgeDurable, hookbridgeMemory, variant, rawPipe, rawCeiling, nodeRed].find((s) => s.id === id)
if (!system) throw new Error(`unknown system ${id}`)

const dir = join(tmpDir, `profile-${id}-${Date.now()}`)
const profileDir = join(dir, 'cpuprofile')
mkdirSync(dir, { recursive: true })
const receiver = await startReceiver(dir)
const bench = await openBench(system, dir, `http://127.0.0.1:${receiver.ready.port}/ingest`, [
  '--cpu-prof',
  `--cpu-prof-dir=${profileDir}`,
])
let fromUs = 0
let toUs = 0
try {
  await probe(bench, receiver, 60_000)
  await burst(bench, receiver, 2_000, { idleMs: 10_000, capMs: 60_000 })
  fromUs = monotonicUs()
  const result = await burst(bench, receiver, count, { idleMs: 10_000, capMs: 120_000 })
  toUs = monotonicUs()
  process.stdout.write(
    `${system.label}: ${count} messages, ${Math.round(result.perSecond)} msg/s, ` +
      `${result.cpuMsPer1k.toFixed(0)} ms CPU per 1k, lost ${result.lost}\n`,
  )
} finally {
  await bench.close()
  await receiver.stop()
}
const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'))
if (!file) throw new Error(`no profile in ${profileDir}`)
process.stdout.write(`${join(profileDir, file)}\n`)
process.stdout.write(summarize(join(profileDir, file), { top: Number(flag('top') ?? 40), fromUs, toUs }))
