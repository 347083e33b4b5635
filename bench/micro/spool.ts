// The spool alone, in-process: jobs shaped like the bench's (topic, ~110-byte payload, ~150-byte body, the
// headers hookbridge sets) go through enqueue (group-committed), lease and complete, 256 at a time, as the
// delivery worker does. Also intake alone (enqueue with nothing delivered: a backlog building up). Jobs per second
// for the durable (SQLite) and the memory spool.
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serve } from '../lib/ipc.js'
import { repoRoot, tmpDir } from '../lib/paths.js'
import { median } from '../lib/stats.js'
import { payloadOf, topicOf } from '../lib/workload.js'

interface NewJob {
  id: string
  rule: string
  target: string
  orderKey: string | null
  message: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; receivedAt: number }
  request: { method: string; url: string; headers: Record<string, string>; body: Buffer }
}
interface Spool {
  enqueue(jobs: readonly NewJob[]): Promise<void>
  lease(limit: number, now: number): Array<{ id: string }>
  complete(id: string): void
  close(): Promise<void>
}

// BENCH_DIST: measure a patched copy of dist/ instead (see run.ts --variant-dist).
const distDir = process.env.BENCH_DIST ?? join(repoRoot, 'dist')
const dist = (path: string) => import(pathToFileURL(join(distDir, path)).href)
const { createSqliteSpool } = (await dist('spool/sqlite-spool.js')) as {
  createSqliteSpool(options: { file: string; groupCommitMs?: number }): Spool
}
const { createMemorySpool } = (await dist('spool/memory-spool.js')) as { createMemorySpool(): Spool }

let lastMs = 0
let counter = 0

/**
 * A time-ordered id formatted like a UUID (48-bit ms timestamp, 12-bit counter, random rest: UUIDv7's layout),
 * as hookbridge's message ids are: the spool's unique index on ids grows at its end, not at random places.
 */
function uuidV7(): string {
  const now = Date.now()
  counter = now === lastMs ? (counter + 1) & 0xfff : 0
  lastMs = now
  const time = now.toString(16).padStart(12, '0')
  const random = randomBytes(8)
  random[0] = 0x80 | (random[0] & 0x3f)
  const rest = random.toString('hex')
  return `${time.slice(0, 8)}-${time.slice(8)}-7${counter.toString(16).padStart(3, '0')}-${rest.slice(0, 4)}-${rest.slice(4)}`
}

function job(seq: number): NewJob {
  const id = `${uuidV7()}:bench:0`
  const payload = Buffer.from(payloadOf(1, seq, 123_456_789))
  return {
    id,
    rule: 'bench',
    target: '0',
    orderKey: null,
    message: { topic: topicOf(seq), payload, qos: 1, retain: false, receivedAt: Date.now() },
    request: {
      method: 'POST',
      url: 'http://127.0.0.1:9000/ingest',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'hookbridge',
        'x-hookbridge-topic': topicOf(seq),
        'x-hookbridge-rule': 'bench',
        'x-hookbridge-delivery-id': id,
      },
      body: Buffer.from(
        `{"device":"dev-${seq % 64}","run":1,"seq":${seq},"t":123456789,"fahrenheit":70.7,"humidity":41,"alert":false}`,
      ),
    },
  }
}

/** Jobs per second through enqueue -> lease -> complete, 256 in flight, for about `ms` (at most 2 million). */
async function roundTrip(spool: Spool, ms: number): Promise<number> {
  let done = 0
  const started = performance.now()
  while (performance.now() - started < ms && done < 2_000_000) {
    // One message at a time, as ingest hands them over, all awaited together: the spool groups them.
    await Promise.all(Array.from({ length: 256 }, (_, k) => spool.enqueue([job(done + k)])))
    for (const leased of spool.lease(256, Date.now())) spool.complete(leased.id)
    done += 256
  }
  return (done * 1000) / (performance.now() - started)
}

/** Jobs per second enqueued with none delivered (a backlog building up), for about `ms`. */
async function intake(spool: Spool, ms: number): Promise<number> {
  let done = 0
  const started = performance.now()
  while (performance.now() - started < ms && done < 2_000_000) {
    await Promise.all(Array.from({ length: 256 }, (_, k) => spool.enqueue([job(done + k)])))
    done += 256
  }
  return (done * 1000) / (performance.now() - started)
}

async function run(args: { ms: number }) {
  const dir = join(tmpDir, `micro-spool-${process.pid}`)
  mkdirSync(dir, { recursive: true })
  const kinds: Record<string, (i: number) => Spool> = {
    durable: (i) => createSqliteSpool({ file: join(dir, `spool-${i}.db`) }),
    memory: () => createMemorySpool(),
  }
  const samples: Record<string, number[]> = {}
  let i = 0
  try {
    // Interleaved rounds, median per figure (round 0 warms up).
    const rounds = 3
    for (let round = 0; round <= rounds; round++) {
      for (const [kind, open] of Object.entries(kinds)) {
        for (const [phase, measure] of Object.entries({ roundTrip, intake })) {
          const spool = open(i++)
          const perSecond = await measure(spool, args.ms / rounds)
          await spool.close()
          if (round > 0) samples[`${kind} ${phase}`] = [...(samples[`${kind} ${phase}`] ?? []), perSecond]
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return Object.fromEntries(Object.entries(samples).map(([name, values]) => [name, median(values)]))
}

serve({ run })
