// A job that failed at intake, replayed from the dead letters: its request is computed again from the original
// message with the rule as it is now (fixed, say). The same delivery id is kept.
import { HookbridgeError } from '../errors.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Job, OutgoingRequest } from '../spool/spool.js'
import { extractParams } from '../topics/filter.js'
import { decodePayload } from './envelope.js'
import { prepareDeliveries } from './prepare.js'

export async function reprepare(
  rules: RuleSet,
  job: Job,
): Promise<{ request: OutgoingRequest } | { error: HookbridgeError } | { skipped: true }> {
  const rule = rules.get(job.rule)
  if (!rule) {
    const detail = 'the rule no longer exists'
    return { error: new HookbridgeError('HOOKBRIDGE_TRANSFORM_FAILED', { rule: job.rule, stage: 'replay', detail }) }
  }
  let params: Record<string, string> = {}
  for (const filter of rule.filters) {
    const found = extractParams(filter, job.message.topic)
    if (found) {
      params = found
      break
    }
  }
  const messageId = job.id.slice(0, job.id.indexOf(':'))
  const prepared = await prepareDeliveries(rule, params, job.message, decodePayload(job.message.payload), messageId)
  if (prepared.kind === 'skipped') return { skipped: true }
  if (prepared.kind === 'failed') return { error: prepared.error }
  const fresh = prepared.jobs.find((j) => j.target === job.target)
  if (!fresh) {
    const detail = `the rule has no target ${job.target} any more`
    return { error: new HookbridgeError('HOOKBRIDGE_TRANSFORM_FAILED', { rule: job.rule, stage: 'replay', detail }) }
  }
  return { request: fresh.request }
}
