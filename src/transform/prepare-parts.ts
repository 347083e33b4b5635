// The pieces every prepared webhook job is made of, shared by the immediate and the asynchronous preparation
// (prepare-now.ts, prepare.ts): the headers hookbridge sets, the body a method carries, the job's order key.
import type { CompiledRule } from '../rules/compile.js'
import type { NewJob, OutgoingRequest, SourceMessage } from '../spool/spool.js'
import type { DecodedPayload } from './envelope.js'

export const userAgent = 'hookbridge'

export function newJob(
  rule: CompiledRule,
  target: string,
  id: string,
  orderKey: string | null,
  message: SourceMessage,
  request: OutgoingRequest,
): NewJob {
  // With several targets each keeps its own order: a target that fails holds back only itself.
  const key = orderKey === null || rule.targets.length === 1 ? orderKey : `${target}/${orderKey}`
  return { id, rule: rule.name, target, orderKey: key, message, request }
}

/** The headers every webhook carries, and W3C trace context from the message's user properties. */
export function baseHeaders(
  rule: CompiledRule,
  contentType: string,
  message: SourceMessage,
  deliveryId: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': contentType,
    'user-agent': userAgent,
    'x-hookbridge-topic': headerSafe(message.topic),
    'x-hookbridge-rule': rule.name,
    'x-hookbridge-delivery-id': deliveryId,
  }
  addTraceContext(headers, message.properties?.userProperties as Record<string, string | string[]> | undefined)
  return headers
}

export function finishRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): OutgoingRequest {
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

/** What a webhook carries: the transform's result as JSON, or without a transform the payload bytes as published. */
export function webhookBody(
  rule: CompiledRule,
  result: unknown,
  message: SourceMessage,
  decoded: DecodedPayload,
): { body: Buffer; contentType: string } {
  if (rule.transform) return { body: Buffer.from(JSON.stringify(result)), contentType: 'application/json' }
  return { body: message.payload, contentType: rawContentType(message, decoded) }
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
export function keyOf(value: unknown): string | null {
  if (value === undefined || value === null) return null
  return typeof value === 'string' ? value : JSON.stringify(value)
}

export function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(truthy)
  return Boolean(value)
}
