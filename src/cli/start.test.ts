// GC pacing set by `hookbridge start`: the flag, left alone when given, and taken by a running V8 (read at each
// full collection, so setting it after start-up works; --trace-gc-verbose prints the factor each limit used).
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { HEAP_GROWING_PERCENT, heapPacingFlag } from './start.js'

describe('heap pacing', () => {
  it("sets heap growth unless node's command line does", () => {
    expect(heapPacingFlag([])).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)
    expect(heapPacingFlag(['--trace-gc', '--max-old-space-size=512'])).toBe(
      `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
    )
    expect(heapPacingFlag(['--heap-growing-percent=0'])).toBeUndefined()
    expect(heapPacingFlag(['--heap_growing_percent=50'])).toBeUndefined()
  })

  it('is taken by V8 when set after start-up', () => {
    const limits = (flag: string | undefined) => {
      const script = `${flag ? `require('node:v8').setFlagsFromString('${flag}');` : ''}
        const a = []; for (let i = 0; i < 1e6; i++) a.push({ i }); gc(); gc()`
      const out = execFileSync(process.execPath, ['--trace-gc-verbose', '--expose-gc', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
        maxBuffer: 64 * 1024 * 1024,
      })
      return [...out.matchAll(/\[HeapController\] Limit: .* \(([\d.]+)\)/g)].map((m) => Number(m[1]))
    }
    const paced = limits(heapPacingFlag([]))
    expect(paced.length).toBeGreaterThan(0)
    for (const factor of paced) expect(factor).toBeCloseTo(1 + HEAP_GROWING_PERCENT / 100, 5)
    expect(limits(undefined).some((factor) => factor > 1 + HEAP_GROWING_PERCENT / 100)).toBe(true)
    // Set back to 0, V8 paces itself again (heap-pacing.ts does that once no job waits for a retry).
    const back = limits(`${heapPacingFlag([])}'); require('node:v8').setFlagsFromString('--heap-growing-percent=0`)
    expect(back.some((factor) => factor > 1 + HEAP_GROWING_PERCENT / 100)).toBe(true)
  })
})
