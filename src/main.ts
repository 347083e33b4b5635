// Composition root: config -> rules -> spool -> broker -> MQTT connection -> ingest -> delivery -> HTTP API.
// Starts the parts in that order and stops them in reverse, so no message is taken in that cannot be stored.
import type { EmbeddedBroker } from './broker/embedded.js'
import { assertSafeBinding } from './config/api-schema.js'
import { type Config, expressionLimitsOf } from './config/schema.js'
import { formatIssue } from './config/source-file.js'
import { createDeadLetterPublisher } from './delivery/dead-letter-topic.js'
import { isMqttRequest } from './delivery/mqtt-target.js'
import { createReplyPublisher } from './delivery/reply.js'
import { createSender } from './delivery/send.js'
import { createTargetLookup } from './delivery/targets.js'
import { createDeliveryWorker, type DeliveryEvent, type DeliveryWorker } from './delivery/worker.js'
import { createApp, type Readiness } from './http/app.js'
import { startHttpServer } from './http/server.js'
import { installAckPipeline } from './mqtt/ack-pipeline.js'
import { connectMqtt, defaultClientId, type MqttConnection, redactUrl } from './mqtt/connection.js'
import { createIngest, type Ingest, type IngestOptions } from './mqtt/ingest.js'
import { createLiveHub } from './mqtt/live.js'
import { createPublisher } from './mqtt/publish.js'
import { createRequester, type Requester } from './mqtt/request-reply.js'
import { createSubscriptionManager, type SubscriptionManager } from './mqtt/subscriptions.js'
import type { Logger } from './observability/logger.js'
import { createMetrics, type Metrics, outcomeClass } from './observability/metrics.js'
import { createReadiness } from './observability/readiness.js'
import { loadRulesOrThrow } from './rules/load.js'
import { createRuleReloader, type RuleReloader } from './rules/reloader.js'
import { createRuleSet, type RuleSet } from './rules/rule-set.js'
import { createBackpressure } from './spool/backpressure.js'
import { openSpool } from './spool/open.js'
import type { Spool } from './spool/spool.js'
import { spoolFile } from './spool/spool-file.js'
import { reprepare } from './transform/reprepare.js'

import { version } from './version.js'

export { spoolFile, version }

export interface BridgeOptions {
  config: Readonly<Config>
  logger: Logger
  env?: NodeJS.ProcessEnv
  /** Watch the rules directory for changes (default true). */
  watchRules?: boolean
  /** Observe every delivery attempt (tests, metrics). */
  onAttempt?(event: DeliveryEvent): void
}

export interface Bridge {
  config: Readonly<Config>
  rules(): RuleSet
  spool: Spool
  ingest: Ingest
  worker: DeliveryWorker
  mqtt: MqttConnection
  subscriptions: SubscriptionManager
  broker?: EmbeddedBroker
  reloader: RuleReloader
  metrics: Metrics
  /** Where the HTTP API listens. */
  httpPort: number
  readiness(): Readiness
  stop(): Promise<void>
}

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const { config, logger } = options
  const env = options.env ?? process.env
  // Fail fast, before anything connects: an unauthenticated API on a non-loopback address is refused.
  assertSafeBinding(config.api)
  const limits = expressionLimitsOf(config)
  const loaded = loadRulesOrThrow(config.rules, { env, limits })
  let ruleSet = createRuleSet(loaded.rules, loaded.hooks)
  logger.info(
    { dir: config.rules, rules: loaded.rules.map((r) => r.name), hooks: loaded.hooks.map((h) => h.hook) },
    `loaded ${loaded.rules.length} rule(s) and ${loaded.hooks.length} hook(s)`,
  )

  const spool = openSpool(config, logger)
  const cleanup: Array<() => Promise<void>> = [() => spool.close()]
  const stopAll = async () => {
    for (const step of cleanup.splice(0).reverse()) {
      await step().catch((err: unknown) => logger.error({ err }, 'error while stopping'))
    }
  }
  try {
    let broker: EmbeddedBroker | undefined
    if (!config.mqtt.url) {
      // Loaded only when used: a bridge attached to its own broker does not need aedes in memory.
      const { startEmbeddedBroker } = await import('./broker/embedded.js')
      broker = await startEmbeddedBroker({ host: config.broker.host, port: config.broker.port, logger })
      cleanup.push(() => broker!.close())
    }
    const url = config.mqtt.url ?? broker!.url
    // aedes speaks MQTT 3.1.1 only: against the embedded broker, so do we.
    const mqttConfig = broker ? { ...config.mqtt, protocolVersion: 4 as const } : config.mqtt
    if (broker && config.mqtt.protocolVersion === 5) {
      logger.info('the embedded broker speaks MQTT 3.1.1: using 3.1.1 (MQTT 5 properties need an external broker)')
    }

    const sender = createSender({ connectionsPerOrigin: config.delivery.concurrencyPerOrigin })
    cleanup.push(() => sender.close())
    const worker = createDeliveryWorker({
      spool,
      sender,
      // MQTT targets publish through the same Publisher as the HTTP API: one account of the broker's receive maximum.
      publish: (topic, payload, opts) => publisher.publish(topic, payload, opts),
      logger,
      defaultTimeoutMs: config.delivery.timeoutMs,
      maxInFlight: config.delivery.maxInFlight,
      concurrencyPerOrigin: config.delivery.concurrencyPerOrigin,
      reprepare: (job) => reprepare(ruleSet, job),
      targetOf: createTargetLookup(() => ruleSet, config.delivery.timeoutMs),
      onAttempt(event) {
        backpressure.check()
        const { job, result, record } = event
        metrics.attempt(
          {
            rule: job.rule,
            target: job.target,
            receivedAt: job.message.receivedAt,
            carriedOver: job.createdAt < startedAt,
          },
          isMqttRequest(job.request) && !record.code ? 'acked' : outcomeClass(result.status, record.code),
          event.action,
          record.code,
        )
        replies.onAttempt(event)
        if (event.action === 'dead') {
          void publishDeadLetter({
            job: event.job,
            reason: event.reason ?? '',
            history: [...event.job.history, event.record],
          })
        }
        options.onAttempt?.(event)
      },
    })

    const backpressure = createBackpressure(spool, config.spool, logger)
    const startedAt = Date.now()
    let mqttRef: MqttConnection | undefined
    let reloaderRef: RuleReloader | undefined
    const metrics = createMetrics({
      spool: () => spool.stats(Date.now()),
      mqttConnected: () => mqttRef?.client.connected ?? false,
      mqttReconnects: () => mqttRef?.reconnects ?? 0,
      backpressurePaused: () => backpressure.paused,
      rulesReloadFailed: () => (reloaderRef?.state.lastErrors.length ?? 0) > 0,
      rulesLoaded: () => ruleSet.rules.length,
    })
    const replies = createReplyPublisher({
      rules: () => ruleSet,
      publish: (topic, payload, opts) => publisher.publish(topic, payload, opts),
      logger,
      mqtt5: mqttConfig.protocolVersion === 5,
      registry: metrics.registry,
    })
    // Pushed before the worker's stop, so it runs after it: replies to the last deliveries are counted, not lost.
    cleanup.push(async () => replies.close())
    let publishDeadLetter: ReturnType<typeof createDeadLetterPublisher> = async () => {}
    let subscriptions: SubscriptionManager | undefined
    let live: ReturnType<typeof createLiveHub> | undefined
    let requests: Requester | undefined
    const ingestOptions: IngestOptions = {
      rules: () => ruleSet,
      spool,
      logger,
      maxPayloadBytes: config.limits.maxPayloadBytes,
      observer: {
        received: metrics.messageReceived,
        matched: metrics.ruleMatched,
        filtered: metrics.ruleFiltered,
        ruleSeconds: metrics.ruleSeconds,
        enqueued: (job) => metrics.jobEnqueued(job.rule, job.target),
        deadAtIntake: (job, code) => metrics.deadAtIntake(job.rule, job.target, code),
        qos0Dropped: metrics.qos0Dropped,
      },
      onEnqueued: () => worker.notify(),
      onDeadLetter: (notice) => void publishDeadLetter(notice),
      backpressure,
      isPaused: () => backpressure.paused,
      onMessage: (message, via) => {
        requests?.handle(message, via)
        live?.dispatch(message, via)
      },
      filtersFor: (ids) => subscriptions?.filtersFor(ids),
      onStoreFailure: () => mqtt.client.stream?.destroy(),
    }
    const ingest = createIngest(ingestOptions)
    const mqtt = connectMqtt({
      config: mqttConfig,
      url,
      logger,
      customHandleAcks: ingest.customHandleAcks,
      onConnect: (sessionPresent) => subscriptions?.onConnect(sessionPresent),
    })
    // Stop intake first on the way down (cleanup runs in reverse): the client ends before the worker stops.
    cleanup.push(async () => {
      await worker.stop(config.delivery.shutdownGraceMs)
    })
    cleanup.push(async () => {
      if (mqtt.client.connected) {
        await subscriptions!
          .leaveSharedGroups()
          .catch((err: unknown) => logger.warn({ err }, 'leaving shared subscriptions failed'))
      }
      await mqtt.close()
    })
    publishDeadLetter = createDeadLetterPublisher(mqtt.client, () => ruleSet, logger)
    const publisher = createPublisher(mqtt.client, { timeoutMs: config.api.requestTimeoutMs })
    mqttRef = mqtt
    ingestOptions.acks = installAckPipeline(mqtt.client, () => mqtt.client.stream?.destroy())
    subscriptions = createSubscriptionManager(mqtt.client, logger)
    live = createLiveHub(subscriptions, () => mqtt.client.connected)
    // The client id is unique per instance (the broker keeps one session per id): so is the reply topic.
    requests = createRequester({
      instanceId: mqttConfig.clientId ?? defaultClientId(),
      publisher,
      subscriptions,
      isConnected: () => mqtt.client.connected,
    })
    cleanup.push(async () => requests?.close())
    mqtt.client.on('message', ingest.onQos0)
    await subscriptions.setRuleSubscriptions(ruleSet.subscriptions())
    const reloader = createRuleReloader({
      dir: config.rules,
      env,
      limits,
      logger,
      current: () => ruleSet,
      async apply(next) {
        // Swap first, then subscribe: a message on a new filter can only arrive once the new set can route it.
        ruleSet = next
        await subscriptions!.setRuleSubscriptions(next.subscriptions())
      },
    })
    reloaderRef = reloader
    if (options.watchRules ?? true) reloader.watch()
    cleanup.push(async () => reloader.close())
    try {
      await mqtt.ready
    } catch (err) {
      // An external broker may come later: keep trying in the background, and say so in /readyz.
      logger.error({ url: redactUrl(url), err: (err as Error).message }, 'MQTT broker not reachable yet: retrying')
    }
    worker.start()

    const readiness = createReadiness({
      url,
      connected: () => mqtt.client.connected,
      subscriptions,
      rulesRunning: () => ruleSet.rules.length,
      lastReloadErrors: () => reloader.state.lastErrors,
    })

    const app = createApp({
      config: config.api,
      publisher,
      metrics: { registry: metrics.registry, httpRequest: metrics.httpRequest },
      ruleAdmin: {
        reload: () => reloader.reload('POST /v1/rules/reload'),
        lastErrors: () => reloader.state.lastErrors.map(formatIssue),
        counters: (rule) => ({ ...metrics.ruleCounters(rule) }),
      },
      live,
      readiness,
      logger,
      version,
      protocolVersion: mqttConfig.protocolVersion,
      requests,
      rules: () => ruleSet,
      spool,
      notifyDelivery: () => worker.notify(),
    })
    const server = await startHttpServer(app, { host: config.api.host, port: config.api.port })
    cleanup.push(() => server.close())
    logger.info({ host: config.api.host, port: server.port }, 'HTTP API listening')

    return {
      config,
      rules: () => ruleSet,
      spool,
      ingest,
      worker,
      mqtt,
      subscriptions,
      reloader,
      metrics,
      broker,
      httpPort: server.port,
      readiness,
      stop: stopAll,
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}

export type { RuleSet }
export { createRuleSet }
