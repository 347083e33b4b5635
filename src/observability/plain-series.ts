// Metrics kept in plain numbers on the message path, and handed to prom-client only when /metrics is read.
// prom-client hashes and checks the labels on every inc() and observe(), also through a child from labels(): with
// about eight observations per delivered message that was ~5 % of the CPU of a burst. Here a series is looked up
// once (callers keep it), an observation is an addition, and the registry reads the totals on collect.
import { Counter, Gauge, type Registry } from 'prom-client'

type Labels = Record<string, string>

/** A counter (or, with negative steps, a gauge) whose series count in plain numbers. */
export interface PlainCount {
  value: number
}

interface CountSeries extends PlainCount {
  labels: Labels
}

function seriesKey(labelNames: readonly string[], labels: Labels): string {
  return labelNames.map((name) => labels[name] ?? '').join('\u0000')
}

/** Counter or gauge series created on first use, like prom-client's: a series appears once it is observed. */
export class PlainCounts {
  private readonly series = new Map<string, CountSeries>()

  constructor(
    registry: Registry,
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    private readonly labelNames: string[],
  ) {
    const series = this.series
    const collect = function (this: Counter | Gauge) {
      // Every series observed so far, also one that adds nothing now: it exists from its first observation.
      for (const s of series.values()) {
        this.inc(s.labels, s.value)
        s.value = 0
      }
    }
    const options = { name, help, labelNames, registers: [registry], collect }
    if (kind === 'counter') new Counter(options)
    else new Gauge(options)
  }

  /** The series of these labels; keep it, and add to its `value`. */
  of(labels: Labels): PlainCount {
    const key = seriesKey(this.labelNames, labels)
    let s = this.series.get(key)
    if (s === undefined) {
      s = { labels, value: 0 }
      this.series.set(key, s)
    }
    return s
  }
}

/** One histogram series: observations counted per bucket. */
export class HistogramSeries {
  /** Per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(
    private readonly buckets: readonly number[],
    readonly labels: Labels,
  ) {
    this.counts = new Float64Array(buckets.length + 1)
  }

  observe(value: number): void {
    const { buckets } = this
    let i = 0
    while (i < buckets.length && value > buckets[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }
}

interface MetricValue {
  metricName: string
  labels: Record<string, string | number>
  value: number
}

/** A histogram in prom-client's registry, its series counted in plain numbers (the same text format). */
export class PlainHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly series = new Map<string, HistogramSeries>()

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: string[],
    private readonly buckets: readonly number[],
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  /** The series of these labels; keep it, and observe through it. */
  of(labels: Labels): HistogramSeries {
    const key = seriesKey(this.labelNames, labels)
    let s = this.series.get(key)
    if (s === undefined) {
      s = new HistogramSeries(this.buckets, labels)
      this.series.set(key, s)
    }
    return s
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = []
    for (const s of this.series.values()) {
      let cumulative = 0
      for (let i = 0; i <= this.buckets.length; i++) {
        cumulative += s.counts[i]!
        const le = i < this.buckets.length ? this.buckets[i]! : '+Inf'
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...s.labels }, value: cumulative })
      }
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum })
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    this.series.clear()
  }
}
