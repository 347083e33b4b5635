// Replies: a webhook's response published into MQTT when its target says `reply:`, to a topic template or to the
// message's MQTT 5 response topic (with its correlation data). Driven by the worker's attempt events.
// Replies are not spooled: the delivery is complete when its reply is attempted. A reply the broker does not take
// (away, or no ack in time) is tried again in memory a few times; then, or at once when retrying cannot help (a
// refusal, a template error), it is logged as HOOKBRIDGE_REPLY_FAILED and counted in hookbridge_replies_total.
import { Counter, type Registry } from 'prom-client'
import { HookbridgeError, isHookbridgeError } from '../errors.js'
import type { PublishOptions, PublishProperties } from '../mqtt/publish.js'
import type { Logger } from '../observability/logger.js'
import type { CompiledRule } from '../rules/compile.js'
import { type CompiledReply, loopingFilter } from '../rules/compile-outputs.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Job } from '../spool/spool.js'
import { extractParams, validateTopic } from '../topics/filter.js'
import { createEnvelope, decodePayload, extendEnvelope } from '../transform/envelope.js'
import { evaluateFor } from '../transform/jsonata.js'
import { traceContext } from '../transform/republish.js'
import { isMqttRequest, type PublishFunction } from './mqtt-target.js'
import type { SendResult } from './send.js'
import type { DeliveryEvent } from './worker.js'

export interface ReplyPublisherOptions {
  rules(): RuleSet
  publish: PublishFunction
  logger: Logger
  /** The connection speaks MQTT 5: replies carry correlation data, content type and trace context. */
  mqtt5: boolean
  /** Where hookbridge_replies_total is registered. */
  registry?: Registry
  /** Waits before the 2nd, 3rd, ... try of a reply the broker did not take. Default 1 s, 2 s, 4 s. */
  retryDelaysMs?: readonly number[]
}

export interface ReplyPublisher {
  onAttempt(event: DeliveryEvent): void
  /** Give up on replies waiting for another try (each is logged and counted as failed). */
  close(): void
}

interface Reply {
  topic: string
  payload: Buffer
  options: PublishOptions
}

export function createReplyPublisher(options: ReplyPublisherOptions): ReplyPublisher {
  const { logger } = options
  const delays = options.retryDelaysMs ?? [1000, 2000, 4000]
  const counter = new Counter({
    name: 'hookbridge_replies_total',
    help: 'Replies published into MQTT (outcome: published, failed, skipped)',
    labelNames: ['rule', 'target', 'outcome'],
    registers: options.registry ? [options.registry] : [],
  })
  const waiting = new Map<NodeJS.Timeout, () => void>()
  let closed = false

  function onAttempt({ job, result }: DeliveryEvent): void {
    if (result.status === undefined || isMqttRequest(job.request)) return
    const rule = options.rules().get(job.rule)
    const target = rule?.targets.find((t) => t.name === job.target)
    const reply = target?.kind === 'http' ? target.reply : undefined
    if (!rule || !target || !reply) return
    const success = result.status >= 200 && result.status < 300
    if (!success && reply.onStatus !== 'any') return
    void build(rule, reply, job, result).then(
      (built) => {
        if (built) return send(job, built, 0)
        outcome(job, 'skipped')
        logger.debug({ deliveryId: job.id, rule: job.rule }, 'no reply: no topic, or the reply transform gave nothing')
      },
      (err: unknown) => fail(job, reply.topic?.source ?? '(the response topic)', err),
    )
  }

  /** The reply to publish; undefined when there is none (no topic to send it to, or no transform result). */
  async function build(
    rule: CompiledRule,
    reply: CompiledReply,
    job: Job,
    result: SendResult,
  ): Promise<Reply | undefined> {
    const message = job.message
    const params = rule.filters.map((f) => extractParams(f, message.topic)).find((p) => p !== null) ?? {}
    const envelope = createEnvelope(message, decodePayload(message.payload), params)
    const response = {
      status: result.status,
      headers: result.headers ?? {},
      body: decodePayload(result.body ?? Buffer.alloc(0)).value,
    }
    // The request's fields (topic, params, payload, ...) stay visible beside the response's, as in templates.
    const input = extendEnvelope(envelope, { ...response, request: envelope })
    const responseTopic = message.properties?.responseTopic
    const topic = reply.topic
      ? await reply.topic.render(input)
      : typeof responseTopic === 'string'
        ? responseTopic
        : undefined
    if (topic === undefined) return undefined
    validateTopic(topic)
    const filter = loopingFilter(rule.filters, topic)
    if (filter !== undefined) throw new HookbridgeError('HOOKBRIDGE_REPUBLISH_LOOP', { rule: rule.name, topic, filter })
    let payload = result.body ?? Buffer.alloc(0)
    let contentType = result.headers?.['content-type']
    if (reply.transform) {
      const shaped = await evaluateFor(rule.name, 'reply.transform', reply.transform, input)
      if (shaped === undefined) return undefined
      payload = Buffer.from(JSON.stringify(shaped))
      contentType = 'application/json'
    }
    const publish: PublishOptions = { qos: reply.qos, retain: reply.retain }
    if (options.mqtt5) {
      const properties: PublishProperties = {}
      if (contentType) properties.contentType = contentType
      const correlation = message.properties?.correlationData
      if (typeof correlation === 'string') properties.correlationData = Buffer.from(correlation, 'base64')
      const trace = traceContext(message)
      if (Object.keys(trace).length > 0) properties.userProperties = trace
      if (Object.keys(properties).length > 0) publish.properties = properties
    }
    return { topic, payload, options: publish }
  }

  function send(job: Job, reply: Reply, tries: number): void {
    options.publish(reply.topic, reply.payload, reply.options).then(
      () => {
        outcome(job, 'published')
        logger.debug({ deliveryId: job.id, rule: job.rule, topic: reply.topic }, 'reply published')
      },
      (err: unknown) => {
        const transient =
          !isHookbridgeError(err) ||
          isHookbridgeError(err, 'HOOKBRIDGE_BROKER_UNAVAILABLE') ||
          isHookbridgeError(err, 'HOOKBRIDGE_PUBLISH_UNCONFIRMED')
        if (!transient || closed || tries >= delays.length) return fail(job, reply.topic, err, tries + 1)
        logger.debug(
          { deliveryId: job.id, rule: job.rule, topic: reply.topic, err: (err as Error).message },
          `reply not published: trying again in ${delays[tries]} ms`,
        )
        const timer = setTimeout(() => {
          waiting.delete(timer)
          send(job, reply, tries + 1)
        }, delays[tries])
        waiting.set(timer, () => fail(job, reply.topic, err, tries + 1))
      },
    )
  }

  function fail(job: Job, topic: string, err: unknown, tries = 0): void {
    outcome(job, 'failed')
    const detail = `${err instanceof Error ? err.message : String(err)}${tries > 1 ? ` (${tries} tries)` : ''}`
    const error = new HookbridgeError('HOOKBRIDGE_REPLY_FAILED', { rule: job.rule, deliveryId: job.id, topic, detail })
    logger.error({ deliveryId: job.id, rule: job.rule, code: error.code }, error.message)
  }

  function outcome(job: Job, value: 'published' | 'failed' | 'skipped'): void {
    counter.inc({ rule: job.rule, target: job.target, outcome: value })
  }

  return {
    onAttempt,
    close() {
      closed = true
      for (const [timer, giveUp] of waiting) {
        clearTimeout(timer)
        giveUp()
      }
      waiting.clear()
    },
  }
}
