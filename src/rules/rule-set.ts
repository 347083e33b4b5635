// The active rules and the topic matcher over their filters: which rules a message goes to, and which
// MQTT subscriptions that needs (one per distinct filter, at the highest QoS any rule asks for).
import type { TopicMatcher } from '../topics/matcher.js'
import { createTrieMatcher } from '../topics/trie-matcher.js'
import type { CompiledRule } from './compile.js'

export interface RuleMatch {
  rule: CompiledRule
  params: Record<string, string>
}

export interface RuleSet {
  readonly rules: readonly CompiledRule[]
  /**
   * Each rule at most once per message, even when several of its filters match. With `viaSubscriptions` (the
   * MQTT 5 subscription identifiers a message came with, resolved to filters) only rules holding one of those
   * filters match: a broker that sends one copy per overlapping subscription then still yields one delivery.
   */
  match(topic: string, viaSubscriptions?: ReadonlySet<string>): RuleMatch[]
  /** Subscriptions to hold on the broker: filter (with $share prefix where shared) → QoS. */
  subscriptions(): Map<string, 0 | 1 | 2>
  get(name: string): CompiledRule | undefined
}

export function createRuleSet(rules: readonly CompiledRule[]): RuleSet {
  const matcher: TopicMatcher<{ rule: CompiledRule; subscription: string }> = createTrieMatcher()
  const byName = new Map<string, CompiledRule>()
  for (const rule of rules) {
    byName.set(rule.name, rule)
    for (const filter of rule.filters) matcher.add(filter, { rule, subscription: filter.subscription })
  }
  return {
    rules,
    match(topic, viaSubscriptions) {
      const hits = matcher.match(topic)
      if (hits.length === 1 && !viaSubscriptions) return [{ rule: hits[0]!.value.rule, params: hits[0]!.params }]
      const seen = new Set<CompiledRule>()
      const out: RuleMatch[] = []
      for (const hit of hits) {
        const { rule, subscription } = hit.value
        if (seen.has(rule) || (viaSubscriptions && !viaSubscriptions.has(subscription))) continue
        seen.add(rule)
        out.push({ rule, params: hit.params })
      }
      return out
    },
    subscriptions() {
      const out = new Map<string, 0 | 1 | 2>()
      for (const rule of rules) {
        for (const filter of rule.filters) {
          const qos = out.get(filter.subscription)
          if (qos === undefined || rule.qos > qos) out.set(filter.subscription, rule.qos)
        }
      }
      return out
    },
    get: (name) => byName.get(name),
  }
}
