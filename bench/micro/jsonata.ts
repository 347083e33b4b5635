// JSONata evaluations per second of the bench transform: the jsonata library alone (compiled once), with the
// guardrail options hookbridge passes, over hookbridge's message envelope, hookbridge's evaluateFor (guardrails,
// envelope, error mapping), its whole per-message preparation (decode, envelope, transform, request), and the
// same transform in plain JavaScript.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import jsonata from 'jsonata'
import { serve } from '../lib/ipc.js'
import { repoRoot, tmpDir } from '../lib/paths.js'
import { median } from '../lib/stats.js'
import { EXPRESSION, payloadOf, RULE_FILTER, transformInJs } from '../lib/workload.js'

interface SourceMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  receivedAt: number
}
type CompiledRule = { name: string }

// BENCH_DIST: measure a patched copy of dist/ instead (see run.ts --variant-dist).
const distDir = process.env.BENCH_DIST ?? join(repoRoot, 'dist')
const dist = (path: string) => import(pathToFileURL(join(distDir, path)).href)
const { compileExpression, defaultExpressionLimits, evaluateFor } = (await dist('transform/jsonata.js')) as {
  compileExpression(source: string): unknown
  defaultExpressionLimits: { timeoutMs: number; maxDepth: number; maxSequence: number }
  evaluateFor(rule: string, stage: string, expression: unknown, input: unknown): Promise<unknown>
}
const { createEnvelope, decodePayload } = (await dist('transform/envelope.js')) as {
  createEnvelope(message: SourceMessage, decoded: unknown, params: Record<string, string>): unknown
  decodePayload(bytes: Buffer): unknown
}
const { prepareDeliveries } = (await dist('transform/prepare.js')) as {
  prepareDeliveries(
    rule: CompiledRule,
    params: Record<string, string>,
    message: SourceMessage,
    decoded: unknown,
    messageId: string,
  ): Promise<{ kind: string }>
}
const { loadRulesOrThrow } = (await dist('rules/load.js')) as {
  loadRulesOrThrow(dir: string, options: { env: NodeJS.ProcessEnv }): { rules: CompiledRule[] }
}

/** Sequential async evaluations per second over about `ms` (bounded by 20 million). */
async function measureAsync(evaluate: (i: number) => Promise<unknown>, ms: number): Promise<number> {
  let done = 0
  const started = performance.now()
  let elapsed = 0
  while (elapsed < ms && done < 20_000_000) {
    for (let k = 0; k < 200; k++) await evaluate(done + k)
    done += 200
    elapsed = performance.now() - started
  }
  return (done * 1000) / elapsed
}

function measureSync(evaluate: (i: number) => unknown, ms: number): number {
  let done = 0
  let sink = 0
  const started = performance.now()
  let elapsed = 0
  while (elapsed < ms && done < 200_000_000) {
    for (let k = 0; k < 1000; k++) if (evaluate(done + k)) sink++
    done += 1000
    elapsed = performance.now() - started
  }
  return sink >= 0 ? (done * 1000) / elapsed : 0
}

async function run(args: { ms: number }) {
  const topic = 'bench/dev-7/data'
  const payload = Buffer.from(payloadOf(1, 42, 123_456_789))
  const message: SourceMessage = { topic, payload, qos: 1, retain: false, receivedAt: Date.now() }
  const params = { device: 'dev-7' }
  const input = { topic, payload: JSON.parse(payload.toString()) }
  const raw = jsonata(EXPRESSION)
  // The library with the guardrails hookbridge passes (time, depth, sequence size), to tell their cost apart.
  const limits = defaultExpressionLimits
  const guarded = jsonata(EXPRESSION, {
    timeout: limits.timeoutMs,
    stack: limits.maxDepth,
    sequence: limits.maxSequence,
  })
  const compiled = compileExpression(EXPRESSION)
  const envelope = createEnvelope(message, decodePayload(payload), params)

  const rulesDir = join(tmpDir, 'micro-rules')
  mkdirSync(rulesDir, { recursive: true })
  writeFileSync(
    join(rulesDir, 'bench.json'),
    JSON.stringify({ name: 'bench', from: { topic: RULE_FILTER }, transform: EXPRESSION, to: { url: 'http://x/' } }),
  )
  const [rule] = loadRulesOrThrow(rulesDir, { env: {} }).rules
  const prepared = await prepareDeliveries(rule!, params, message, decodePayload(payload), 'id')
  if (prepared.kind !== 'jobs') throw new Error(`prepareDeliveries: ${prepared.kind}`)

  const asyncImplementations: Record<string, (i: number) => Promise<unknown>> = {
    jsonataLibrary: () => raw.evaluate(input),
    jsonataWithGuardrails: () => guarded.evaluate(input),
    jsonataOnEnvelope: () => raw.evaluate(envelope),
    hookbridgeEvaluateFor: () => evaluateFor('bench', 'transform', compiled, envelope),
    hookbridgePrepareDeliveries: (i) => prepareDeliveries(rule!, params, message, decodePayload(payload), `m${i}`),
  }
  // Interleaved rounds, median per implementation: a noisy neighbour then hurts every implementation alike.
  const rounds = 5
  const samples: Record<string, number[]> = { javascript: [] }
  for (let round = 0; round <= rounds; round++) {
    for (const [name, evaluate] of Object.entries(asyncImplementations)) {
      const perSecond = await measureAsync(evaluate, args.ms / rounds)
      if (round > 0) samples[name] = [...(samples[name] ?? []), perSecond]
    }
    const perSecond = measureSync(() => transformInJs(input), args.ms / rounds)
    if (round > 0) samples.javascript!.push(perSecond)
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
}

serve({ run })
