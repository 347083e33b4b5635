// Heap pacing follows the spool: tight from the start and while jobs wait for a retry, V8's own while deliveries
// succeed, and the flag is set only when that changes. (That V8 takes the flag at run time: cli/start.test.ts.)
import { afterEach, describe, expect, it } from 'vitest'
import type { SpoolStats } from '../spool/spool.js'
import { type HeapPacing, paceHeapByDeliveries } from './heap-pacing.js'

const stats = (retrying: number, depth: number): SpoolStats => ({
  depth,
  bytes: 0,
  leased: 0,
  deadLetters: 0,
  retrying,
  oldestAgeMs: 0,
})

const TIGHT = '--heap-growing-percent=30'
const V8_OWN = '--heap-growing-percent=0'

describe('heap pacing', () => {
  let pacing: HeapPacing | undefined
  afterEach(() => pacing?.stop())

  it('starts tight, hands back to V8 while deliveries succeed, and is tight again while jobs wait for a retry', async () => {
    let retrying = 0
    let depth = 0
    const flags: string[] = []
    pacing = paceHeapByDeliveries(
      { stats: () => stats(retrying, depth) },
      { percent: 30, intervalMs: 5, setFlags: (f) => flags.push(f) },
    )
    expect(flags).toEqual([TIGHT])
    // Nothing pending: nothing to judge by.
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(flags).toEqual([TIGHT])
    depth = 10
    await expect.poll(() => flags.at(-1), { timeout: 5_000 }).toBe(V8_OWN)
    retrying = 3
    await expect.poll(() => flags.at(-1), { timeout: 5_000 }).toBe(TIGHT)
    retrying = 1 // still retrying: nothing to change
    await new Promise((resolve) => setTimeout(resolve, 30))
    expect(flags).toEqual([TIGHT, V8_OWN, TIGHT])
    retrying = 0
    await expect.poll(() => flags.at(-1), { timeout: 5_000 }).toBe(V8_OWN)
    expect(flags).toEqual([TIGHT, V8_OWN, TIGHT, V8_OWN])
  })
})
