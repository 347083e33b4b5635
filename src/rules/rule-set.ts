// The active rules and the topic matcher over their filters: which rules a message goes to, and which
// MQTT subscriptions that needs (one per distinct filter, at the highest QoS any rule asks for). Hook rules
// (HTTP in, MQTT out) are kept beside them, by URL name, and take no part in MQTT matching.
import type { TopicMatcher } from '../topics/matcher.js'
import { createTrieMatcher } from '../topics/trie-matcher.js'
import type { CompiledRule } from './compile.js'
import type { CompiledHook } from './compile-hook.js'

export interface RuleMatch {
  rule: CompiledRule
  params: Record<string, string>
}

export interface RuleSet {
  readonly rules: readonly CompiledRule[]
  /**
   * Each rule at most once per message, even when several of its filters match. With `viaSubscriptions` (the
   * MQTT 5 subscription identifiers a message came with, resolved to filters) a rule matches only the copy that
   * came through its first matching filter, so a broker that sends one copy per overlapping subscription still
   * yields one delivery per rule.
   */
  match(topic: string, viaSubscriptions?: ReadonlySet<string>): RuleMatch[]
  /** Subscriptions to hold on the broker: filter (with $share prefix where shared) → QoS. */
  subscriptions(): Map<string, 0 | 1 | 2>
  get(name: string): CompiledRule | undefined
  readonly hooks: readonly CompiledHook[]
  /** The hook served at POST /v1/hooks/<name>. */
  hook(name: string): CompiledHook | undefined
}

export function createRuleSet(rules: readonly CompiledRule[], hooks: readonly CompiledHook[] = []): RuleSet {
  const hooksByName = new Map(hooks.map((hook) => [hook.hook, hook]))
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
      if (hits.length === 1) {
        // One rule, one filter (the usual case): no copies to tell apart.
        const hit = hits[0]!
        if (viaSubscriptions && !viaSubscriptions.has(hit.value.subscription)) return []
        return [{ rule: hit.value.rule, params: hit.params }]
      }
      // Per rule, the hit through its first matching subscription (in a fixed order, the same for every copy).
      const first = new Map<CompiledRule, (typeof hits)[number]>()
      for (const hit of hits) {
        const seen = first.get(hit.value.rule)
        if (!seen || hit.value.subscription < seen.value.subscription) first.set(hit.value.rule, hit)
      }
      const out: RuleMatch[] = []
      for (const [rule, hit] of first) {
        // A broker that sends one copy per matching subscription sends one through this rule's first
        // subscription: that copy delivers it, the others do not.
        if (viaSubscriptions && !viaSubscriptions.has(hit.value.subscription)) continue
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
    hooks,
    hook: (name) => hooksByName.get(name),
  }
}
