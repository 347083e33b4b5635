// Prometheus metrics (prom-client), one registry per bridge. Per rule and target the counters add up:
//   received{rule} = filtered{rule} + delivered{rule,target} + dead_lettered{rule,target} + pending{rule,target}
// for each target of the rule (pending counts jobs of this process's lifetime not yet finished).
import { Gauge, Registry } from 'prom-client'
import { type HistogramSeries, type PlainCount, PlainCounts, PlainHistogram } from './plain-series.js'

export interface SpoolGauges {
  depth: number
  bytes: number
  leased: number
  deadLetters: number
  oldestAgeMs: number
}

export interface MetricsSources {
  spool(): SpoolGauges
  mqttConnected(): boolean
  mqttReconnects(): number
  backpressurePaused(): boolean
  rulesReloadFailed(): boolean
  rulesLoaded(): number
}

export type Metrics = ReturnType<typeof createMetrics>

export interface RuleCounters {
  received: number
  filtered: number
  delivered: number
  deadLettered: number
  retried: number
}

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
const transformBuckets = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.1, 1]

export function createMetrics(sources: MetricsSources) {
  const registry = new Registry()
  // Everything counted per message or per request is kept in plain numbers (plain-series.ts); the gauges below
  // are read from their sources when /metrics is read.
  const counts = (name: string, help: string, labelNames: string[]) =>
    new PlainCounts(registry, 'counter', name, help, labelNames)
  const gauge = (name: string, help: string, collect: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(collect())
      },
    })

  const received = counts('hookbridge_rule_received_total', 'Messages that matched the rule', ['rule'])
  const filtered = counts(
    'hookbridge_rule_filtered_total',
    'Messages the rule skipped (when false, or no transform result)',
    ['rule', 'reason'],
  )
  const delivered = counts('hookbridge_delivered_total', 'Deliveries that got a 2xx', ['rule', 'target'])
  const deadLettered = counts('hookbridge_dead_lettered_total', 'Deliveries given up and kept as dead letters', [
    'rule',
    'target',
    'code',
  ])
  const attempts = counts(
    'hookbridge_delivery_attempts_total',
    'HTTP attempts by outcome class (2xx, 4xx, 5xx, timeout, connection, ...)',
    ['rule', 'target', 'class'],
  )
  const retried = counts('hookbridge_delivery_retries_total', 'Attempts that will be retried', ['rule', 'target'])
  const pending = new PlainCounts(
    registry,
    'gauge',
    'hookbridge_pending',
    'Jobs enqueued by this process and not yet delivered or dead-lettered',
    ['rule', 'target'],
  )
  const latency = new PlainHistogram(
    registry,
    'hookbridge_delivery_latency_seconds',
    'From receipt of the message to its successful delivery',
    ['rule', 'target'],
    latencyBuckets,
  )
  const transformTime = new PlainHistogram(
    registry,
    'hookbridge_transform_seconds',
    'Time to apply a rule (when, transform, templates) to one message',
    ['rule'],
    transformBuckets,
  )
  const mqttReceived = counts('hookbridge_mqtt_messages_received_total', 'Messages received from the broker', []).of({})
  const droppedQos0 = counts(
    'hookbridge_mqtt_qos0_dropped_total',
    'QoS 0 messages dropped while the spool was full',
    [],
  ).of({})
  const httpCounts = counts('hookbridge_http_requests_total', 'HTTP API requests', ['route', 'method', 'status'])
  const httpDuration = new PlainHistogram(
    registry,
    'hookbridge_http_request_seconds',
    'HTTP API request duration',
    ['route', 'method'],
    latencyBuckets,
  )
  // The API's series by `${route} ${method} ${status}`: one string key instead of the labels' own key.
  const httpSeries = new Map<string, { count: PlainCount; duration: HistogramSeries }>()

  gauge('hookbridge_in_flight', 'HTTP deliveries in flight (leased jobs)', () => sources.spool().leased)
  gauge('hookbridge_spool_depth', 'Pending jobs in the spool', () => sources.spool().depth)
  gauge('hookbridge_spool_bytes', 'Bytes held by pending jobs', () => sources.spool().bytes)
  gauge(
    'hookbridge_spool_oldest_age_seconds',
    'Age of the oldest pending job',
    () => sources.spool().oldestAgeMs / 1000,
  )
  gauge('hookbridge_dead_letters', 'Dead letters kept', () => sources.spool().deadLetters)
  gauge('hookbridge_mqtt_connected', '1 while connected to the broker', () => (sources.mqttConnected() ? 1 : 0))
  gauge('hookbridge_mqtt_reconnects_total', 'Reconnections to the broker since start', () => sources.mqttReconnects())
  gauge('hookbridge_backpressure', '1 while intake is paused because the spool is full', () =>
    sources.backpressurePaused() ? 1 : 0,
  )
  gauge('hookbridge_rules_loaded', 'Rules running', () => sources.rulesLoaded())
  gauge(
    'hookbridge_rules_reload_failed',
    '1 while the last rule reload failed (the previous rules keep running)',
    () => (sources.rulesReloadFailed() ? 1 : 0),
  )

  // Each rule's and target's series, looked up once per rule and target, and created on first use as prom-client
  // would: a series appears in /metrics once it has been observed. RuleCounters are the same counts for
  // GET /v1/rules (they are never reset by a scrape).
  interface TargetSeries {
    delivered?: PlainCount
    retried?: PlainCount
    pending?: PlainCount
    latency?: HistogramSeries
    attempts: Map<string, PlainCount>
    deadLettered: Map<string, PlainCount>
  }
  interface RuleSeries {
    counts: RuleCounters
    received?: PlainCount
    transformTime?: HistogramSeries
    filtered: Map<string, PlainCount>
    targets: Map<string, TargetSeries>
  }
  const perRule = new Map<string, RuleSeries>()
  const seriesOf = (rule: string): RuleSeries => {
    let series = perRule.get(rule)
    if (!series) {
      series = {
        counts: { received: 0, filtered: 0, delivered: 0, deadLettered: 0, retried: 0 },
        filtered: new Map(),
        targets: new Map(),
      }
      perRule.set(rule, series)
    }
    return series
  }
  const countsOf = (rule: string): RuleCounters => seriesOf(rule).counts
  const targetOf = (rule: string, target: string): TargetSeries => {
    const { targets } = seriesOf(rule)
    let series = targets.get(target)
    if (!series) {
      series = { attempts: new Map(), deadLettered: new Map() }
      targets.set(target, series)
    }
    return series
  }
  const labelled = <V>(cache: Map<string, V>, key: string, create: () => V): V => {
    let child = cache.get(key)
    if (child === undefined) {
      child = create()
      cache.set(key, child)
    }
    return child
  }
  const deadLetteredOf = (rule: string, target: string, code: string) =>
    labelled(targetOf(rule, target).deadLettered, code, () => deadLettered.of({ rule, target, code }))

  return {
    registry,
    ruleCounters: (rule: string): RuleCounters => ({ ...countsOf(rule) }),
    messageReceived: () => {
      mqttReceived.value++
    },
    qos0Dropped: () => {
      droppedQos0.value++
    },
    ruleMatched(rule: string) {
      const series = seriesOf(rule)
      series.received ??= received.of({ rule })
      series.received.value++
      series.counts.received++
    },
    ruleFiltered(rule: string, reason: string) {
      const series = seriesOf(rule)
      labelled(series.filtered, reason, () => filtered.of({ rule, reason })).value++
      series.counts.filtered++
    },
    ruleSeconds(rule: string, seconds: number) {
      const series = seriesOf(rule)
      series.transformTime ??= transformTime.of({ rule })
      series.transformTime.observe(seconds)
    },
    jobEnqueued(rule: string, target: string) {
      const series = targetOf(rule, target)
      series.pending ??= pending.of({ rule, target })
      series.pending.value++
    },
    /** `carriedOver`: the job was enqueued before this process started (it was never counted as pending). */
    attempt(
      job: { rule: string; target: string; receivedAt: number; carriedOver: boolean },
      outcomeClass: string,
      action: 'done' | 'retry' | 'dead',
      code: string | undefined,
    ) {
      const { rule, target } = job
      const series = targetOf(rule, target)
      labelled(series.attempts, outcomeClass, () => attempts.of({ rule, target, class: outcomeClass })).value++
      const counts = countsOf(rule)
      if (action === 'retry') {
        series.retried ??= retried.of({ rule, target })
        series.retried.value++
        counts.retried++
      } else if (action === 'done') {
        series.delivered ??= delivered.of({ rule, target })
        series.delivered.value++
        counts.delivered++
        if (!job.carriedOver) {
          series.pending ??= pending.of({ rule, target })
          series.pending.value--
        }
        series.latency ??= latency.of({ rule, target })
        series.latency.observe(Math.max(0, Date.now() - job.receivedAt) / 1000)
      } else {
        deadLetteredOf(rule, target, code ?? 'unknown').value++
        counts.deadLettered++
        if (!job.carriedOver) {
          series.pending ??= pending.of({ rule, target })
          series.pending.value--
        }
      }
    },
    /** A job dead-lettered at intake (it never was pending). */
    deadAtIntake(rule: string, target: string, code: string) {
      deadLetteredOf(rule, target, code).value++
      countsOf(rule).deadLettered++
    },
    httpRequest(route: string, method: string, status: number, seconds: number) {
      const key = `${route} ${method} ${status}`
      let series = httpSeries.get(key)
      if (series === undefined) {
        series = {
          count: httpCounts.of({ route, method, status: String(status) }),
          duration: httpDuration.of({ route, method }),
        }
        httpSeries.set(key, series)
      }
      series.count.value++
      series.duration.observe(seconds)
    },
  }
}

/** 2xx, 3xx, 4xx, 5xx, or the error kind for attempts without a response. */
export function outcomeClass(status: number | undefined, code: string | undefined): string {
  if (status !== undefined) return `${Math.floor(status / 100)}xx`
  if (code === 'HOOKBRIDGE_DELIVERY_TIMEOUT') return 'timeout'
  if (code === 'HOOKBRIDGE_DELIVERY_CONNECTION') return 'connection'
  return 'error'
}
