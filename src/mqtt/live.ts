// Live listeners (the HTTP API's SSE streams) on the shared MQTT connection: reference-counted subscriptions
// through the subscription manager, and each message handed to the listeners whose filter it matches.

import { HookbridgeError } from '../errors.js'
import type { SourceMessage } from '../spool/spool.js'
import { parseFilter } from '../topics/filter.js'
import type { TopicMatcher } from '../topics/matcher.js'
import { createTrieMatcher } from '../topics/trie-matcher.js'
import type { LiveMessage, LiveSource } from './live-source.js'
import type { SubscriptionManager } from './subscriptions.js'

type Listener = { filter: string; onMessage: (message: LiveMessage) => void }

export interface LiveHub extends LiveSource {
  /** Called by ingest for every message received. */
  dispatch(message: SourceMessage, viaSubscriptions?: ReadonlySet<string>): void
  readonly listeners: number
}

export function createLiveHub(subscriptions: SubscriptionManager, isConnected: () => boolean): LiveHub {
  const matcher: TopicMatcher<Listener> = createTrieMatcher()
  let count = 0
  return {
    async subscribe(filter, onMessage) {
      const parsed = parseFilter(filter)
      const listener: Listener = { filter: parsed.subscription, onMessage }
      if (!isConnected()) {
        throw new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', { detail: 'not connected', retryAfterSeconds: 5 })
      }
      await subscriptions.acquire(parsed.subscription, 0)
      const reasonCode = subscriptions.refused.get(parsed.subscription)
      if (reasonCode !== undefined || !isConnected()) {
        await subscriptions.release(parsed.subscription)
        throw reasonCode !== undefined
          ? new HookbridgeError('HOOKBRIDGE_SUBSCRIBE_REJECTED', { filter, reasonCode })
          : new HookbridgeError('HOOKBRIDGE_BROKER_UNAVAILABLE', {
              detail: 'connection lost while subscribing',
              retryAfterSeconds: 5,
            })
      }
      matcher.add(parsed, listener)
      count++
      let ended = false
      return async () => {
        if (ended) return
        ended = true
        matcher.remove(parsed, listener)
        count--
        await subscriptions.release(parsed.subscription)
      }
    },
    dispatch(message, viaSubscriptions) {
      if (count === 0) return
      for (const { value } of matcher.match(message.topic)) {
        if (viaSubscriptions && !viaSubscriptions.has(value.filter)) continue
        value.onMessage({
          topic: message.topic,
          payload: message.payload,
          qos: message.qos,
          retain: message.retain,
          properties: message.properties,
        })
      }
    },
    get listeners() {
      return count
    },
  }
}
