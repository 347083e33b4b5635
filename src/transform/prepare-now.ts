// Preparation without waiting: a plain rule (HTTP targets with literal URL, method and headers, no CloudEvents)
// whose `when`, `transform` and `orderBy` the compiled fast path decides for this input is prepared at once, with
// no promise per message. prepare.ts takes everything else, with the same results (prepare.test.ts holds both to it).
import type { CompiledHttpTarget, CompiledRule } from '../rules/compile.js'
import type { NewJob, SourceMessage } from '../spool/spool.js'
import type { DecodedPayload, Envelope } from './envelope.js'
import { evaluateNowFor, FALLBACK } from './jsonata.js'
import { deliveryIdOf } from './message-id.js'
import type { Prepared } from './prepare.js'
import { baseHeaders, finishRequest, keyOf, newJob, truthy, webhookBody } from './prepare-parts.js'

const plainRules = new WeakMap<CompiledRule, boolean>()

/** Every target HTTP with a literal URL (no host check), method and headers, no CloudEvents: nothing to render. */
export function isPlain(rule: CompiledRule): boolean {
  let plain = plainRules.get(rule)
  if (plain === undefined) {
    plain = rule.targets.every(
      (t) =>
        t.kind === 'http' &&
        t.url.staticText !== undefined &&
        !t.methodTemplate &&
        !t.cloudEvents &&
        !t.allowedHosts &&
        t.headers.every(([, template]) => template.staticText !== undefined),
    )
    plainRules.set(rule, plain)
  }
  return plain
}

/** A plain rule, prepared without waiting; undefined when an expression needs the interpreter for this input. */
export function prepareNow(
  rule: CompiledRule,
  message: SourceMessage,
  decoded: DecodedPayload,
  messageId: string,
  envelope: Envelope,
): Prepared | undefined {
  if (rule.when) {
    const when = evaluateNowFor(rule.name, 'when', rule.when, envelope)
    if (when === FALLBACK) return undefined
    if (!truthy(when)) return { kind: 'skipped', reason: 'when' }
  }
  let result: unknown
  if (rule.transform) {
    result = evaluateNowFor(rule.name, 'transform', rule.transform, envelope)
    if (result === FALLBACK) return undefined
    if (result === undefined) return { kind: 'skipped', reason: 'empty-transform' }
  }
  const { body, contentType } = webhookBody(rule, result, message, decoded)
  let orderKey: string | null = null
  if (rule.orderBy) {
    const key = evaluateNowFor(rule.name, 'orderBy', rule.orderBy, envelope)
    if (key === FALLBACK) return undefined
    orderKey = keyOf(key)
  }
  const jobs: NewJob[] = []
  for (const target of rule.targets as CompiledHttpTarget[]) {
    const id = deliveryIdOf(messageId, rule.name, target.name)
    const headers = baseHeaders(rule, contentType, message, id)
    for (const [name, template] of target.headers) headers[name] = template.staticText!
    jobs.push(
      newJob(
        rule,
        target.name,
        id,
        orderKey,
        message,
        finishRequest(target.method, target.url.staticText!, headers, body),
      ),
    )
  }
  return { kind: 'jobs', jobs }
}
