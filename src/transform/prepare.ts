// One matched rule applied to one message: `when`, then `transform`, then the URL and headers of each target.
// The result is delivery jobs for the spool, a skip, or a failure that is dead-lettered with the message.
import { HookbridgeError, isHookbridgeError } from '../errors.js'
import type { CompiledHttpTarget, CompiledRule } from '../rules/compile.js'
import { httpMethods } from '../rules/schema.js'
import type { NewJob, OutgoingRequest, SourceMessage } from '../spool/spool.js'
import { applyCloudEvents } from './cloud-events.js'
import { createEnvelope, type DecodedPayload, type Envelope, extendEnvelope } from './envelope.js'
import { evaluateFor } from './jsonata.js'
import { deliveryIdOf } from './message-id.js'
import { buildMqttRequest } from './republish.js'
import { type Template, TemplateError } from './template.js'

export type Prepared =
  | { kind: 'jobs'; jobs: NewJob[] }
  | { kind: 'skipped'; reason: 'when' | 'empty-transform' }
  | { kind: 'failed'; jobs: NewJob[]; error: HookbridgeError }

export const userAgent = 'hookbridge'

export async function prepareDeliveries(
  rule: CompiledRule,
  params: Record<string, string>,
  message: SourceMessage,
  decoded: DecodedPayload,
  messageId: string,
): Promise<Prepared> {
  const envelope = createEnvelope(message, decoded, params)
  try {
    if (rule.when && !truthy(await evaluateFor(rule.name, 'when', rule.when, envelope))) {
      return { kind: 'skipped', reason: 'when' }
    }
    let body: Buffer
    let contentType: string
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
      body = Buffer.from(JSON.stringify(result))
      contentType = 'application/json'
    } else {
      body = message.payload
      contentType = rawContentType(message, decoded)
    }
    // With several targets each keeps its own order: a target that fails holds back only itself.
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
        request = await buildRequest(
          rule,
          target,
          templateInput,
          body,
          contentType,
          message.topic,
          message.properties?.userProperties as Record<string, string | string[]> | undefined,
          id,
        )
        if (target.cloudEvents) {
          const context = { id, topic: message.topic, receivedAt: message.receivedAt }
          request = await applyCloudEvents(request, target.cloudEvents, context, render)
        }
      }
      jobs.push({
        id,
        rule: rule.name,
        target: target.name,
        orderKey: orderKey === null || rule.targets.length === 1 ? orderKey : `${target.name}/${orderKey}`,
        message,
        request,
      })
    }
    return { kind: 'jobs', jobs }
  } catch (err) {
    const error = isHookbridgeError(err)
      ? err
      : new HookbridgeError('HOOKBRIDGE_TRANSFORM_FAILED', {
          rule: rule.name,
          stage: 'preparing the request',
          detail: String(err),
        })
    return { kind: 'failed', jobs: failedJobs(rule, message, messageId), error }
  }
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
  topic: string,
  userProperties: Record<string, string | string[]> | undefined,
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
  const headers: Record<string, string> = {
    'content-type': contentType,
    'user-agent': userAgent,
    'x-hookbridge-topic': headerSafe(topic),
    'x-hookbridge-rule': rule.name,
    'x-hookbridge-delivery-id': deliveryId,
  }
  addTraceContext(headers, userProperties)
  for (const [name, template] of target.headers) {
    try {
      headers[name] = template.staticText ?? (await template.render(input()))
    } catch (err) {
      throw templateFailure(rule, `to.headers.${name}`, err)
    }
  }
  const method = target.methodTemplate ? await computedMethod(rule, target.methodTemplate, input()) : target.method
  const hasBody = method !== 'GET' && method !== 'DELETE'
  if (!hasBody) delete headers['content-type']
  return { method, url, headers, body: hasBody ? body : Buffer.alloc(0) }
}

/** W3C trace context carried as MQTT 5 user properties continues in the webhook's headers. */
function addTraceContext(
  headers: Record<string, string>,
  userProperties: Record<string, string | string[]> | undefined,
): void {
  if (!userProperties) return
  for (const name of ['traceparent', 'tracestate']) {
    const value = userProperties[name]
    const first = Array.isArray(value) ? value[0] : value
    if (typeof first === 'string' && /^[\x20-\x7e]+$/.test(first)) headers[name] = first
  }
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

/** The MQTT 5 content type, else JSON when the payload parses, else octet-stream. */
function rawContentType(message: SourceMessage, decoded: DecodedPayload): string {
  const declared = message.properties?.contentType
  if (typeof declared === 'string' && declared !== '') return declared
  return decoded.isJson ? 'application/json' : 'application/octet-stream'
}

/** Header values must be visible ASCII: non-ASCII topic levels are percent-encoded (UTF-8). */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURI(value)
}

/** An order key as a string; no value means the message is not ordered. */
function keyOf(value: unknown): string | null {
  if (value === undefined || value === null) return null
  return typeof value === 'string' ? value : JSON.stringify(value)
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy)
  return Boolean(value)
}

export type { Envelope }
