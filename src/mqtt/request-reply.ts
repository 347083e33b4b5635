// Request/response over MQTT 5: publish with a response topic and correlation data, then wait for the reply. Each
// instance holds one subscription, hookbridge/replies/<instanceId>/#, so that instances behind one load balancer
// each receive their own replies; a reply finds its waiting request by its correlation data (or, from responders
// that drop it, by the last level of its topic).
import { randomBytes } from 'node:crypto'
import { HookbridgeError } from '../errors.js'
import type { SourceMessage } from '../spool/spool.js'
import type { Publisher, PublishProperties, QoS } from './publish.js'
import type { SubscriptionManager } from './subscriptions.js'

export interface Reply {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** MQTT 5 properties as JSON (correlation data as base64, user properties as an object). */
  properties: Record<string, unknown>
}

export interface RequestOptions {
  qos: QoS
  properties: PublishProperties
  /** How long to wait for the reply, counted from when the request is handed to the publisher. */
  timeoutMs: number
}

export interface Requester {
  /** The subscription that receives this instance's replies. */
  readonly replyFilter: string
  /** Publishes the request and resolves with its reply; rejects with HOOKBRIDGE_REPLY_TIMEOUT, or the publish error. */
  request(topic: string, payload: Buffer, options: RequestOptions): Promise<Reply>
  /** Every message received on the connection; replies to our requests are taken, everything else ignored. */
  handle(message: SourceMessage, viaSubscriptions?: ReadonlySet<string>): void
  /** Requests waiting for their reply. */
  readonly pending: number
  /** Ends the waiting requests (HOOKBRIDGE_BROKER_UNAVAILABLE) and their timers. */
  close(): void
}

export interface RequesterOptions {
  /** Unique among the instances that share a broker; the MQTT client id is (brokers allow one session per id). */
  instanceId: string
  publisher: Publisher
  subscriptions: Pick<SubscriptionManager, 'acquire' | 'release' | 'refused'>
  isConnected(): boolean
}

interface Waiting {
  resolve(reply: Reply): void
  reject(err: Error): void
  timer: NodeJS.Timeout
}

export function replyTopicBase(instanceId: string): string {
  // Topic levels may not hold '/', '+' or '#' here, nor NUL anywhere.
  return `hookbridge/replies/${instanceId.replace(/[/+#\0]/g, '_')}`
}

export function createRequester(options: RequesterOptions): Requester {
  const { publisher, subscriptions } = options
  const base = replyTopicBase(options.instanceId)
  const prefix = `${base}/`
  const replyFilter = `${base}/#`
  const waiting = new Map<string, Waiting>()
  let subscribed: Promise<void> | undefined

  const unavailable = (detail: string) =>
    new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail, retryAfterSeconds: 1 })

  // Subscribed on the first request and kept: the subscription manager subscribes again after a reconnect.
  function ensureSubscribed(): Promise<void> {
    subscribed ??= (async () => {
      if (!options.isConnected()) throw unavailable('not connected; nothing was published')
      await subscriptions.acquire(replyFilter, 1)
      const reasonCode = subscriptions.refused.get(replyFilter)
      if (reasonCode !== undefined) {
        await subscriptions.release(replyFilter)
        throw new HookbridgeError('HOOKBRIDGE_SUBSCRIBE_REJECTED', { filter: replyFilter, reasonCode })
      }
    })().catch((err: unknown) => {
      subscribed = undefined
      throw err
    })
    return subscribed
  }

  return {
    replyFilter,
    async request(topic, payload, request) {
      await ensureSubscribed()
      const id = randomBytes(16).toString('base64url')
      const reply = new Promise<Reply>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(new HookbridgeError('HOOKBRIDGE_REPLY_TIMEOUT', { topic, timeoutMs: request.timeoutMs }))
        }, request.timeoutMs)
        waiting.set(id, { resolve, reject, timer })
      })
      // Awaited below; until then a timeout must not count as an unhandled rejection.
      reply.catch(() => {})
      try {
        await publisher.publish(topic, payload, {
          qos: request.qos,
          retain: false,
          properties: { ...request.properties, responseTopic: `${prefix}${id}`, correlationData: Buffer.from(id) },
        })
      } catch (err) {
        const entry = waiting.get(id)
        if (entry) clearTimeout(entry.timer)
        waiting.delete(id)
        throw err
      }
      return reply
    },
    handle(message, viaSubscriptions) {
      if (!message.topic.startsWith(prefix)) return
      // A copy that came through another subscription (a rule on '#'): ours comes on its own.
      if (viaSubscriptions && !viaSubscriptions.has(replyFilter)) return
      const correlation = message.properties?.correlationData
      const fromCorrelation =
        typeof correlation === 'string' ? Buffer.from(correlation, 'base64').toString('utf8') : undefined
      const id =
        fromCorrelation !== undefined && waiting.has(fromCorrelation)
          ? fromCorrelation
          : message.topic.slice(prefix.length)
      const entry = waiting.get(id)
      // A reply after its timeout, or a second one: nobody waits for it any more.
      if (!entry) return
      waiting.delete(id)
      clearTimeout(entry.timer)
      entry.resolve({
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        retain: message.retain,
        properties: message.properties ?? {},
      })
    },
    get pending() {
      return waiting.size
    },
    close() {
      for (const [id, entry] of waiting) {
        clearTimeout(entry.timer)
        entry.reject(unavailable('hookbridge is stopping'))
        waiting.delete(id)
      }
    },
  }
}
