// One matched rule applied to one message: `when`, then `transform`, then the URL and headers of each target.
// The result is delivery jobs for the spool, a skip, or a failure that is dead-lettered with the message.
// A plain rule is prepared at once when the compiled fast path decides its expressions (prepare-now.ts); anything
// else takes the asynchronous path here. Both give the same jobs, skips and failures.
import { HookbridgeError, isHookbridgeError } from '../errors.js'
import type { CompiledHttpTarget, CompiledRule } from '../rules/compile.js'
import { httpMethods } from '../rules/schema.js'
import type { NewJob, OutgoingRequest, SourceMessage } from '../spool/spool.js'
import { applyCloudEvents } from './cloud-events.js'
import { createEnvelope, type DecodedPayload, type Envelope, extendEnvelope } from './envelope.js'
import { evaluateFor } from './jsonata.js'
import { deliveryIdOf } from './message-id.js'
import { isPlain, prepareNow } from './prepare-now.js'
import { baseHeaders, finishRequest, keyOf, newJob, truthy, webhookBody } from './prepare-parts.js'
import { buildMqttRequest } from './republish.js'
import { type Template, TemplateError } from './template.js'

export type Prepared =
  | { kind: 'jobs'; jobs: NewJob[] }
  | { kind: 'skipped'; reason: 'when' | 'empty-transform' }
  | { kind: 'failed'; jobs: NewJob[]; error: HookbridgeError }

export function prepareDeliveries(
  rule: CompiledRule,
  params: Record<string, string>,
  message: SourceMessage,
  decoded: DecodedPayload,
  messageId: string,
): Prepared | Promise<Prepared> {
  const envelope = createEnvelope(message, decoded, params)
  if (isPlain(rule)) {
    try {
      const prepared = prepareNow(rule, message, decoded, messageId, envelope)
      if (prepared !== undefined) return prepared
    } catch (err) {
      return failure(rule, message, messageId, err)
    }
  }
  return prepareLater(rule, message, decoded, messageId, envelope)
}

/** The asynchronous path, for any rule (prepareDeliveries takes it when it must; exported for the parity test). */
export async function prepareLater(
  rule: CompiledRule,
  message: SourceMessage,
  decoded: DecodedPayload,
  messageId: string,
  envelope: Envelope,
): Promise<Prepared> {
  try {
    if (rule.when && !truthy(await evaluateFor(rule.name, 'when', rule.when, envelope))) {
      return { kind: 'skipped', reason: 'when' }
    }
    let result: unknown
    // Templates see the envelope with the transform's `result`: built only when a computed template needs it.
    let extended: unknown
    const templateInput = () => {
      extended ??= rule.transform ? extendEnvelope(envelope, { result }) : envelope
      return extended
    }
    if (rule.transform) {
      result = await evaluateFor(rule.name, 'transform', rule.transform, envelope)
      if (result === undefined) return { kind: 'skipped', reason: 'empty-transform' }
    }
    const { body, contentType } = webhookBody(rule, result, message, decoded)
    const orderKey = rule.orderBy ? keyOf(await evaluateFor(rule.name, 'orderBy', rule.orderBy, envelope)) : null
    const jobs: NewJob[] = []
    const render = (field: string, template: Template) =>
      template.staticText !== undefined
        ? Promise.resolve(template.staticText)
        : renderField(rule, field, template, templateInput())
    for (const target of rule.targets) {
      const id = deliveryIdOf(messageId, rule.name, target.name)
      let request: OutgoingRequest
      if (target.kind === 'mqtt') {
        const republish = { payload: body, transformed: rule.transform !== undefined, message }
        request = await buildMqttRequest(target, republish, render)
      } else {
        request = await buildRequest(rule, target, templateInput, body, contentType, message, id)
        if (target.cloudEvents) {
          const context = { id, topic: message.topic, receivedAt: message.receivedAt }
          request = await applyCloudEvents(request, target.cloudEvents, context, render)
        }
      }
      jobs.push(newJob(rule, target.name, id, orderKey, message, request))
    }
    return { kind: 'jobs', jobs }
  } catch (err) {
    return failure(rule, message, messageId, err)
  }
}

function failure(rule: CompiledRule, message: SourceMessage, messageId: string, err: unknown): Prepared {
  const error = isHookbridgeError(err)
    ? err
    : new HookbridgeError('HOOKBRIDGE_TRANSFORM_FAILED', {
        rule: rule.name,
        stage: 'preparing the request',
        detail: String(err),
      })
  return { kind: 'failed', jobs: failedJobs(rule, message, messageId), error }
}

/**
 * The method of a job whose request could not be computed at intake: it holds only the original message. When
 * such a dead letter is replayed, the worker computes the request again with the rule as it is then (fixed,
 * say) instead of sending anything made up.
 */
export const UNPREPARED = 'UNPREPARED'

/** One job per target holding the original message, to be dead-lettered so it can be inspected and replayed. */
export function failedJobs(rule: CompiledRule, message: SourceMessage, messageId: string): NewJob[] {
  return rule.targets.map((target) => ({
    id: deliveryIdOf(messageId, rule.name, target.name),
    rule: rule.name,
    target: target.name,
    orderKey: null,
    message,
    request: { method: UNPREPARED, url: '', headers: {}, body: message.payload },
  }))
}

async function buildRequest(
  rule: CompiledRule,
  target: CompiledHttpTarget,
  input: () => unknown,
  body: Buffer,
  contentType: string,
  message: SourceMessage,
  deliveryId: string,
): Promise<OutgoingRequest> {
  let url: string
  try {
    url = target.url.staticText ?? (await target.url.render(input(), encodeURIComponent))
  } catch (err) {
    throw templateFailure(rule, 'to.url', err)
  }
  if (target.allowedHosts) {
    const host = new URL(url).host.toLowerCase()
    if (!target.allowedHosts.has(host))
      throw new HookbridgeError('HOOKBRIDGE_HOST_NOT_ALLOWED', { rule: rule.name, host })
  }
  const headers = baseHeaders(rule, contentType, message, deliveryId)
  for (const [name, template] of target.headers) {
    try {
      headers[name] = template.staticText ?? (await template.render(input()))
    } catch (err) {
      throw templateFailure(rule, `to.headers.${name}`, err)
    }
  }
  const method = target.methodTemplate ? await computedMethod(rule, target.methodTemplate, input()) : target.method
  return finishRequest(method, url, headers, body)
}

async function renderField(rule: CompiledRule, field: string, template: Template, input: unknown): Promise<string> {
  try {
    return await template.render(input)
  } catch (err) {
    throw templateFailure(rule, field, err)
  }
}

async function computedMethod(rule: CompiledRule, template: Template, input: unknown): Promise<string> {
  let method: string
  try {
    method = (await template.render(input)).trim().toUpperCase()
  } catch (err) {
    throw templateFailure(rule, 'to.method', err)
  }
  if (!(httpMethods as readonly string[]).includes(method)) {
    throw new HookbridgeError('HOOKBRIDGE_TEMPLATE_FAILED', {
      rule: rule.name,
      field: 'to.method',
      detail: `"${method}" is not one of ${httpMethods.join(', ')}`,
    })
  }
  return method
}

function templateFailure(rule: CompiledRule, field: string, err: unknown): HookbridgeError {
  if (isHookbridgeError(err)) return err
  const detail = err instanceof TemplateError ? err.message : String((err as Error).message ?? err)
  return new HookbridgeError('HOOKBRIDGE_TEMPLATE_FAILED', { rule: rule.name, field, detail })
}

export type { Envelope }
