// Plain-number series read exactly as prom-client's own would be: the same observations give the same /metrics
// text, and a scrape hands over what was counted since the last one without losing or repeating any of it.
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { PlainCounts, PlainHistogram } from './plain-series.js'

const buckets = [0.001, 0.01, 0.1, 1]
const samples = [0, 0.0005, 0.001, 0.002, 0.05, 0.1, 0.5, 2, 30]

describe('plain series', () => {
  it('exposes a histogram exactly as prom-client does', async () => {
    const reference = new Registry()
    const theirs = new Histogram({
      name: 'h_seconds',
      help: 'help',
      labelNames: ['rule', 'target'],
      buckets,
      registers: [reference],
    })
    const registry = new Registry()
    const ours = new PlainHistogram(registry, 'h_seconds', 'help', ['rule', 'target'], buckets)
    const a = ours.of({ rule: 'r', target: 'a' })
    const b = ours.of({ rule: 'r', target: 'b "quoted"' })
    for (const [i, value] of samples.entries()) {
      theirs.observe({ rule: 'r', target: 'a' }, value)
      a.observe(value)
      if (i % 2 === 0) {
        theirs.observe({ rule: 'r', target: 'b "quoted"' }, value * 3)
        b.observe(value * 3)
      }
    }
    expect(ours.of({ rule: 'r', target: 'a' })).toBe(a)
    const text = await registry.metrics()
    expect(text).toContain('h_seconds_bucket{le="0.001",rule="r",target="a"} 3')
    expect(text).toBe(await reference.metrics())
  })

  it('exposes counters and gauges as prom-client does, and hands each count over once', async () => {
    const reference = new Registry()
    const theirCounter = new Counter({ name: 'c_total', help: 'c', labelNames: ['rule'], registers: [reference] })
    const theirGauge = new Gauge({ name: 'g', help: 'g', labelNames: ['rule'], registers: [reference] })
    const registry = new Registry()
    const counter = new PlainCounts(registry, 'counter', 'c_total', 'c', ['rule'])
    const gauge = new PlainCounts(registry, 'gauge', 'g', 'g', ['rule'])

    const step = (rule: string, adds: number, pending: number) => {
      theirCounter.inc({ rule }, adds)
      counter.of({ rule }).value += adds
      theirGauge.inc({ rule }, pending)
      gauge.of({ rule }).value += pending
    }
    step('x', 3, 2)
    step('y', 1, 0)
    expect(await registry.metrics()).toBe(await reference.metrics())
    // Read again with nothing new: the same totals, nothing counted twice.
    expect(await registry.metrics()).toBe(await reference.metrics())
    step('x', 2, -2)
    const text = await registry.metrics()
    expect(text).toContain('c_total{rule="x"} 5')
    expect(text).toContain('g{rule="x"} 0')
    expect(text).toBe(await reference.metrics())
  })
})
