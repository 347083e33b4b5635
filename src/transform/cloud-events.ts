// CloudEvents 1.0 over HTTP (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md).
// Computed at intake like the rest of the request: every attribute is fixed by the message (time = receipt).
import type { CompiledCloudEvents } from '../rules/compile-outputs.js'
import type { OutgoingRequest } from '../spool/spool.js'
import type { Template } from './template.js'

export interface CloudEventContext {
  /** The delivery id: the same across retries, so receivers can deduplicate on it. */
  id: string
  topic: string
  receivedAt: number
}

/** `render` renders one template, naming the field when it fails (HOOKBRIDGE_TEMPLATE_FAILED). */
export async function applyCloudEvents(
  request: OutgoingRequest,
  spec: CompiledCloudEvents,
  context: CloudEventContext,
  render: (field: string, template: Template) => Promise<string>,
): Promise<OutgoingRequest> {
  const attributes = {
    specversion: '1.0',
    id: context.id,
    source: await render('to.cloudEvents.source', spec.source),
    type: await render('to.cloudEvents.type', spec.type),
    time: new Date(context.receivedAt).toISOString(),
    subject: context.topic,
  }
  const contentType = request.headers['content-type']
  if (spec.mode === 'binary') {
    const headers = { ...request.headers }
    for (const [name, value] of Object.entries(attributes)) headers[`ce-${name}`] = headerSafe(value)
    return { ...request, headers }
  }
  const event: Record<string, unknown> = { ...attributes }
  if (contentType !== undefined) event.datacontenttype = contentType
  const data = jsonData(request.body, contentType)
  if (data.ok) event.data = data.value
  else event.data_base64 = request.body.toString('base64')
  return {
    ...request,
    headers: { ...request.headers, 'content-type': 'application/cloudevents+json; charset=utf-8' },
    body: Buffer.from(JSON.stringify(event)),
  }
}

function jsonData(body: Buffer, contentType: string | undefined): { ok: true; value: unknown } | { ok: false } {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase() ?? ''
  if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) return { ok: false }
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) }
  } catch {
    return { ok: false }
  }
}

/** Header values must be visible ASCII: anything else is percent-encoded (UTF-8), as the binding asks. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURI(value)
}
