// One message through one rule, exactly as ingest would take it (same matching, same prepareDeliveries), but
// nothing is stored or sent. Used by fixtures (`hookbridge test`) and POST /v1/rules/{name}/dry-run.
import type { SourceMessage } from '../spool/spool.js'
import { createEnvelope, type DecodedPayload, decodePayload, extendEnvelope } from '../transform/envelope.js'
import { evaluateFor } from '../transform/jsonata.js'
import { prepareDeliveries } from '../transform/prepare.js'
import { compileTemplate, type Template } from '../transform/template.js'
import type { CompiledRule } from './compile.js'
import type { RuleSet } from './rule-set.js'

/** What replaces the value of a `${env:NAME}` reference in dry-run output. */
export const REDACTED = '[redacted]'

export interface DryRunRequest {
  target: string
  method: string
  url: string
  headers: Record<string, string>
  body: Buffer
}

export type DryRunOutcome =
  | { matched: false }
  | { matched: true; skipped: 'when' | 'empty-transform' }
  | { matched: true; requests: DryRunRequest[] }
  | { matched: true; error: { code: string; message: string } }

/** `ruleSet` must hold `rule`: matching goes through it, so params come from the same filter as in production. */
export async function dryRun(
  ruleSet: RuleSet,
  rule: CompiledRule,
  message: SourceMessage,
  messageId: string,
): Promise<DryRunOutcome> {
  const match = ruleSet.match(message.topic).find((m) => m.rule === rule)
  if (!match) return { matched: false }
  const decoded = decodePayload(message.payload)
  const prepared = await prepareDeliveries(rule, match.params, message, decoded, messageId)
  if (prepared.kind === 'skipped') return { matched: true, skipped: prepared.reason }
  if (prepared.kind === 'failed') {
    return { matched: true, error: { code: prepared.error.code, message: prepared.error.message } }
  }
  const requests: DryRunRequest[] = []
  for (const job of prepared.jobs) {
    const target = rule.targets.find((t) => t.name === job.target)!
    const request: DryRunRequest = { target: job.target, ...job.request, headers: { ...job.request.headers } }
    if (target.url.envRefs.length > 0 || target.headers.some(([, t]) => t.envRefs.length > 0)) {
      // Without an input (cannot happen: the same evaluation just succeeded) computed parts fail, and read REDACTED.
      const input = await templateInput(rule, message, decoded, match.params).catch(() => undefined)
      if (target.url.envRefs.length > 0) request.url = await redacted(target.url, input, encodeURIComponent)
      for (const [name, template] of target.headers) {
        if (template.envRefs.length > 0) request.headers[name] = await redacted(template, input)
      }
    }
    requests.push(request)
  }
  return { matched: true, requests }
}

/** What the templates saw in prepareDeliveries: the envelope, plus `result` with a transform (evaluated again). */
async function templateInput(
  rule: CompiledRule,
  message: SourceMessage,
  decoded: DecodedPayload,
  params: Record<string, string>,
): Promise<unknown> {
  const envelope = createEnvelope(message, decoded, params)
  if (!rule.transform) return envelope
  const result = await evaluateFor(rule.name, 'transform', rule.transform, envelope)
  return extendEnvelope(envelope, { result })
}

/** The template rendered again with every `${env:NAME}` value replaced, so no secret leaves the process. */
async function redacted(template: Template, input: unknown, encode?: (value: string) => string): Promise<string> {
  try {
    const env = Object.fromEntries(template.envRefs.map((name) => [name, REDACTED]))
    return await compileTemplate(template.source, env).render(input, encode)
  } catch {
    return REDACTED
  }
}
