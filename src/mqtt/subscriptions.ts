// The subscriptions hookbridge holds on the broker: those the rules need plus those of live (SSE) listeners,
// one per distinct filter. Re-sent whenever the broker says it kept no session; MQTT.js's own resubscribe is
// off so that this is the one place that decides.
import type { MqttClient } from 'mqtt'
import { HookbridgeError } from '../errors.js'
import type { Logger } from '../observability/logger.js'

type Qos = 0 | 1 | 2

export interface SubscriptionManager {
  /** Replace the rules' subscriptions (a reload): subscribes what is new, unsubscribes what is gone. */
  setRuleSubscriptions(wanted: ReadonlyMap<string, Qos>): Promise<void>
  /** A live listener's subscription, reference-counted. */
  acquire(filter: string, qos: Qos): Promise<void>
  release(filter: string): Promise<void>
  /** After a CONNACK: resubscribe everything when the broker kept no session, else what changed meanwhile. */
  onConnect(sessionPresent: boolean): Promise<void>
  /** Filters whose subscription the broker refused (filter → reason code). */
  readonly refused: ReadonlyMap<string, number>
  /** Every filter currently wanted, with its QoS. */
  wanted(): Map<string, Qos>
  /**
   * Leave every shared subscription ($share/...) before a graceful stop, so the broker sends the group's next
   * messages to the other members instead of queueing them in this session. When the UNSUBACK arrives, every
   * message sent before it has been handled (MQTT.js handles packets in order).
   */
  leaveSharedGroups(): Promise<void>
  /** True when everything wanted is confirmed by the broker. */
  isSettled(): boolean
  /** The filters that MQTT 5 subscription identifiers stand for (undefined when there are none). */
  filtersFor(ids: number | number[] | undefined): ReadonlySet<string> | undefined
}

export function createSubscriptionManager(client: MqttClient, logger: Logger): SubscriptionManager {
  // MQTT 5: each filter is subscribed with its own subscription identifier, which the broker puts on every
  // message it sends for that subscription. That is how a message is told apart from its copies when filters
  // overlap (mosquitto sends one copy per matching subscription).
  const useIdentifiers = client.options.protocolVersion === 5
  const ids = new Map<string, number>()
  const filtersById = new Map<number, string>()
  const singles = new Map<number, ReadonlySet<string>>()
  // Identifiers derive from the filter, so messages the broker queued for the previous process carry the
  // identifiers this process uses too.
  const idOf = (filter: string): number => {
    let id = ids.get(filter)
    if (id === undefined) {
      id = subscriptionIdentifierOf(filter)
      while (filtersById.has(id)) id = (id % MAX_SUBSCRIPTION_ID) + 1
      ids.set(filter, id)
      filtersById.set(id, filter)
    }
    return id
  }
  let rules = new Map<string, Qos>()
  const live = new Map<string, { qos: Qos; refs: number }>()
  /** What the broker has confirmed for this session. */
  const confirmed = new Map<string, Qos>()
  const refused = new Map<string, number>()

  const wanted = (): Map<string, Qos> => {
    const out = new Map(rules)
    for (const [filter, entry] of live) out.set(filter, Math.max(out.get(filter) ?? 0, entry.qos) as Qos)
    return out
  }

  async function subscribe(entries: Map<string, Qos>): Promise<void> {
    if (entries.size === 0 || !client.connected) return
    let granted: Array<{ topic: string; qos: number }>
    if (useIdentifiers) {
      const answers = await Promise.all(
        [...entries].map(([filter, qos]) =>
          client.subscribeAsync({ [filter]: { qos } }, { qos, properties: { subscriptionIdentifier: idOf(filter) } }),
        ),
      )
      granted = answers.flat()
    } else {
      const request: Record<string, { qos: Qos }> = {}
      for (const [filter, qos] of entries) request[filter] = { qos }
      granted = await client.subscribeAsync(request)
    }
    for (const grant of granted) {
      if (grant.qos === 128 || grant.qos > 2) {
        refused.set(grant.topic, grant.qos)
        confirmed.delete(grant.topic)
        const error = new HookbridgeError('HOOKBRIDGE_MQTT_SUBSCRIBE_DENIED', {
          filter: grant.topic,
          reasonCode: grant.qos,
        })
        logger.error({ code: error.code, filter: grant.topic }, error.message)
      } else {
        refused.delete(grant.topic)
        confirmed.set(grant.topic, entries.get(grant.topic) ?? (grant.qos as Qos))
      }
    }
  }

  async function unsubscribe(filters: string[]): Promise<void> {
    for (const filter of filters) {
      confirmed.delete(filter)
      refused.delete(filter)
    }
    if (filters.length === 0 || !client.connected) return
    await client.unsubscribeAsync(filters)
  }

  /** Bring the broker in line with what is wanted. */
  async function reconcile(): Promise<void> {
    const want = wanted()
    const toSubscribe = new Map<string, Qos>()
    for (const [filter, qos] of want) if (confirmed.get(filter) !== qos) toSubscribe.set(filter, qos)
    const toUnsubscribe = [...confirmed.keys()].filter((filter) => !want.has(filter))
    await subscribe(toSubscribe)
    await unsubscribe(toUnsubscribe)
  }

  return {
    async setRuleSubscriptions(next) {
      rules = new Map(next)
      await reconcile()
    },
    async acquire(filter, qos) {
      const entry = live.get(filter)
      if (entry) {
        entry.refs++
        entry.qos = Math.max(entry.qos, qos) as Qos
      } else live.set(filter, { qos, refs: 1 })
      await reconcile()
    },
    async release(filter) {
      const entry = live.get(filter)
      if (!entry) return
      if (--entry.refs === 0) live.delete(filter)
      await reconcile()
    },
    async onConnect(sessionPresent) {
      if (!sessionPresent) {
        if (confirmed.size > 0)
          logger.info({ filters: confirmed.size }, 'the broker kept no session: subscribing again')
        confirmed.clear()
      }
      await reconcile()
    },
    refused,
    wanted,
    async leaveSharedGroups() {
      for (const filter of [...rules.keys()]) if (filter.startsWith('$share/')) rules.delete(filter)
      for (const filter of [...live.keys()]) if (filter.startsWith('$share/')) live.delete(filter)
      await reconcile()
    },
    filtersFor(idList) {
      if (idList === undefined) return undefined
      if (!Array.isArray(idList)) {
        // The usual case, once per message: one identifier, its set made once (an id's filter never changes).
        let one = singles.get(idList)
        if (one === undefined) {
          const filter = filtersById.get(idList)
          if (filter === undefined) return undefined
          one = new Set([filter])
          singles.set(idList, one)
        }
        return one
      }
      const out = new Set<string>()
      for (const id of idList) {
        const filter = filtersById.get(id)
        // An identifier we do not know (another process's): match by topic alone rather than drop the message.
        if (filter === undefined) return undefined
        out.add(filter)
      }
      return out
    },
    isSettled() {
      for (const [filter, qos] of wanted()) if (confirmed.get(filter) !== qos && !refused.has(filter)) return false
      return true
    },
  }
}

const MAX_SUBSCRIPTION_ID = 268_435_455

/** FNV-1a of the filter, in the range MQTT 5 allows for subscription identifiers (1 to 268,435,455). */
export function subscriptionIdentifierOf(filter: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < filter.length; i++) {
    hash ^= filter.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return (hash % MAX_SUBSCRIPTION_ID) + 1
}
