// Prometheus metrics (prom-client), one registry per bridge. Per rule and target the counters add up:
//   received{rule} = filtered{rule} + delivered{rule,target} + dead_lettered{rule,target} + pending{rule,target}
// for each target of the rule (pending counts jobs of this process's lifetime not yet finished).
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

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
  const counter = (name: string, help: string, labelNames: string[]) =>
    new Counter({ name, help, labelNames, registers: [registry] })
  const gauge = (name: string, help: string, collect: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(collect())
      },
    })

  const received = counter('hookbridge_rule_received_total', 'Messages that matched the rule', ['rule'])
  const filtered = counter(
    'hookbridge_rule_filtered_total',
    'Messages the rule skipped (when false, or no transform result)',
    ['rule', 'reason'],
  )
  const delivered = counter('hookbridge_delivered_total', 'Deliveries that got a 2xx', ['rule', 'target'])
  const deadLettered = counter('hookbridge_dead_lettered_total', 'Deliveries given up and kept as dead letters', [
    'rule',
    'target',
    'code',
  ])
  const attempts = counter(
    'hookbridge_delivery_attempts_total',
    'HTTP attempts by outcome class (2xx, 4xx, 5xx, timeout, connection, ...)',
    ['rule', 'target', 'class'],
  )
  const retried = counter('hookbridge_delivery_retries_total', 'Attempts that will be retried', ['rule', 'target'])
  const pending = new Gauge({
    name: 'hookbridge_pending',
    help: 'Jobs enqueued by this process and not yet delivered or dead-lettered',
    labelNames: ['rule', 'target'],
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'hookbridge_delivery_latency_seconds',
    help: 'From receipt of the message to its successful delivery',
    labelNames: ['rule', 'target'],
    buckets: latencyBuckets,
    registers: [registry],
  })
  const transformTime = new Histogram({
    name: 'hookbridge_transform_seconds',
    help: 'Time to apply a rule (when, transform, templates) to one message',
    labelNames: ['rule'],
    buckets: transformBuckets,
    registers: [registry],
  })
  const mqttReceived = counter('hookbridge_mqtt_messages_received_total', 'Messages received from the broker', [])
  const droppedQos0 = counter(
    'hookbridge_mqtt_qos0_dropped_total',
    'QoS 0 messages dropped while the spool was full',
    [],
  )
  // API requests are counted in plain numbers and handed to prom-client when the metrics are read (collect):
  // prom-client hashes and checks the labels on every inc(), also through a child from labels().
  const httpCounts = new Map<string, { labels: { route: string; method: string; status: string }; count: number }>()
  new Counter({
    name: 'hookbridge_http_requests_total',
    help: 'HTTP API requests',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
    collect() {
      for (const series of httpCounts.values()) {
        if (series.count === 0) continue
        this.inc(series.labels, series.count)
        series.count = 0
      }
    },
  })
  const httpDuration = new Histogram({
    name: 'hookbridge_http_request_seconds',
    help: 'HTTP API request duration',
    labelNames: ['route', 'method'],
    buckets: latencyBuckets,
    registers: [registry],
  })

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

  // Each rule's and target's series (prom-client children), looked up once: `metric.inc({ rule, target })` would
  // hash its labels on every observation. With them, the same counts as plain numbers, for GET /v1/rules.
  type Child<T extends { labels(...values: string[]): unknown }> = ReturnType<T['labels']>
  // Created on first use, as `inc(labels)` would: a series appears in /metrics once it has been observed.
  interface TargetSeries {
    delivered?: Child<typeof delivered>
    retried?: Child<typeof retried>
    pending?: Child<typeof pending>
    latency?: Child<typeof latency>
    attempts: Map<string, Child<typeof attempts>>
    deadLettered: Map<string, Child<typeof deadLettered>>
  }
  interface RuleSeries {
    counts: RuleCounters
    received?: Child<typeof received>
    transformTime?: Child<typeof transformTime>
    filtered: Map<string, Child<typeof filtered>>
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
    labelled(targetOf(rule, target).deadLettered, code, () => deadLettered.labels({ rule, target, code }))

  return {
    registry,
    ruleCounters: (rule: string): RuleCounters => ({ ...countsOf(rule) }),
    messageReceived: () => mqttReceived.inc(),
    qos0Dropped: () => droppedQos0.inc(),
    ruleMatched(rule: string) {
      const series = seriesOf(rule)
      series.received ??= received.labels({ rule })
      series.received.inc()
      series.counts.received++
    },
    ruleFiltered(rule: string, reason: string) {
      const series = seriesOf(rule)
      labelled(series.filtered, reason, () => filtered.labels({ rule, reason })).inc()
      series.counts.filtered++
    },
    ruleSeconds(rule: string, seconds: number) {
      const series = seriesOf(rule)
      series.transformTime ??= transformTime.labels({ rule })
      series.transformTime.observe(seconds)
    },
    jobEnqueued(rule: string, target: string) {
      const series = targetOf(rule, target)
      series.pending ??= pending.labels({ rule, target })
      series.pending.inc()
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
      labelled(series.attempts, outcomeClass, () => attempts.labels({ rule, target, class: outcomeClass })).inc()
      const counts = countsOf(rule)
      if (action === 'retry') {
        series.retried ??= retried.labels({ rule, target })
        series.retried.inc()
        counts.retried++
      } else if (action === 'done') {
        series.delivered ??= delivered.labels({ rule, target })
        series.delivered.inc()
        counts.delivered++
        if (!job.carriedOver) {
          series.pending ??= pending.labels({ rule, target })
          series.pending.dec()
        }
        series.latency ??= latency.labels({ rule, target })
        series.latency.observe(Math.max(0, Date.now() - job.receivedAt) / 1000)
      } else {
        deadLetteredOf(rule, target, code ?? 'unknown').inc()
        counts.deadLettered++
        if (!job.carriedOver) {
          series.pending ??= pending.labels({ rule, target })
          series.pending.dec()
        }
      }
    },
    /** A job dead-lettered at intake (it never was pending). */
    deadAtIntake(rule: string, target: string, code: string) {
      deadLetteredOf(rule, target, code).inc()
      countsOf(rule).deadLettered++
    },
    httpRequest(route: string, method: string, status: number, seconds: number) {
      const key = `${route} ${method} ${status}`
      const series = httpCounts.get(key)
      if (series === undefined) httpCounts.set(key, { labels: { route, method, status: String(status) }, count: 1 })
      else series.count++
      httpDuration.observe({ route, method }, seconds)
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
