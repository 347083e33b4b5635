// What the worker needs to know about a job's rule and target (retry policy, timeout, signing, batching, loop
// guard), built once per compiled rule and target: a reload compiles new rule objects, so the cache follows it.
import type { CompiledRule } from '../rules/compile.js'
import { loopingFilter } from '../rules/compile-outputs.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Job } from '../spool/spool.js'
import type { DeliveryTarget } from './worker.js'

export function createTargetLookup(
  rules: () => RuleSet,
  defaultTimeoutMs: number,
): (job: Pick<Job, 'rule' | 'target'>) => DeliveryTarget | undefined {
  const cache = new WeakMap<CompiledRule, Map<string, DeliveryTarget>>()
  return (job) => {
    const rule = rules().get(job.rule)
    if (!rule) return undefined
    let targets = cache.get(rule)
    if (targets === undefined) {
      targets = new Map()
      cache.set(rule, targets)
    }
    let delivery = targets.get(job.target)
    if (delivery === undefined) {
      const target = rule.targets.find((t) => t.name === job.target)
      delivery = {
        retry: rule.retry,
        timeoutMs: target?.timeoutMs ?? defaultTimeoutMs,
        signingKeys: target?.kind === 'http' ? target.signingKeys : undefined,
        batch: target?.kind === 'http' ? target.batch : undefined,
        loopingFilter: (topic) => loopingFilter(rule.filters, topic),
      }
      targets.set(job.target, delivery)
    }
    return delivery
  }
}
