// A verified hook request turned into one MQTT message: the request as an envelope, the rule's transform, then the
// topic and property templates. A transform without a result means there is nothing to publish.
import { HookbridgeError, isHookbridgeError } from '../errors.js'
import type { PublishProperties, QoS } from '../mqtt/publish.js'
import type { CompiledHook } from '../rules/compile-hook.js'
import { validateTopic } from '../topics/filter.js'
import { decodePayload } from './envelope.js'
import { evaluateFor } from './jsonata.js'
import type { Template } from './template.js'

/** What a hook's `transform` and templates see. */
export interface HookEnvelope {
  hook: string
  method: string
  path: string
  /** Lower-case names; Authorization is left out so that a transform cannot copy a bearer token into MQTT. */
  headers: Record<string, string>
  query: Record<string, string>
  /** Parsed JSON when the body is JSON, else the UTF-8 text. */
  body: unknown
  /** The raw bytes as base64 (computed on first use). */
  readonly bodyBase64: string
  receivedAt: number
}

export interface HookRequestInput {
  method: string
  path: string
  headers: Record<string, string>
  query: Record<string, string>
  body: Buffer
  receivedAt: number
}

export interface HookMessage {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties: PublishProperties
}

export interface HookMessageOptions {
  protocolVersion: 4 | 5
  allowDollarTopics: boolean
}

export function createHookEnvelope(hook: string, input: HookRequestInput): HookEnvelope {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(input.headers)) {
    if (name.toLowerCase() !== 'authorization') headers[name.toLowerCase()] = value
  }
  let base64: string | undefined
  const envelope = {
    hook,
    method: input.method,
    path: input.path,
    headers,
    query: input.query,
    body: decodePayload(input.body).value,
    receivedAt: input.receivedAt,
  }
  Object.defineProperty(envelope, 'bodyBase64', {
    enumerable: true,
    get: () => {
      base64 ??= input.body.toString('base64')
      return base64
    },
  })
  return envelope as HookEnvelope
}

/** The message to publish, or undefined when the transform gave no result. Throws HOOKBRIDGE_HOOK_TRANSFORM_FAILED. */
export async function prepareHookMessage(
  hook: CompiledHook,
  input: HookRequestInput,
  options: HookMessageOptions,
): Promise<HookMessage | undefined> {
  const fail = (detail: string) => new HookbridgeError('HOOKBRIDGE_HOOK_TRANSFORM_FAILED', { hook: hook.hook, detail })
  const envelope = createHookEnvelope(hook.hook, input)
  let payload = input.body
  let contentType = input.headers['content-type']
  let templateInput: unknown = envelope
  if (hook.transform) {
    let result: unknown
    try {
      result = await evaluateFor(hook.name, 'transform', hook.transform, envelope)
    } catch (err) {
      throw fail(isHookbridgeError(err) ? String(err.details.detail) : String(err))
    }
    if (result === undefined) return undefined
    payload = Buffer.from(JSON.stringify(result), 'utf8')
    contentType = 'application/json'
    // Own properties (JSONata does not read through prototypes), the lazy bodyBase64 kept lazy.
    templateInput = Object.defineProperties({ result }, Object.getOwnPropertyDescriptors(envelope))
  }
  const render = async (field: string, template: Template): Promise<string> => {
    try {
      return await template.render(templateInput)
    } catch (err) {
      throw fail(`could not compute ${field}: ${(err as Error).message}`)
    }
  }
  const topic = await render('publish.topic', hook.topic)
  try {
    validateTopic(topic, { allowDollar: options.allowDollarTopics })
  } catch (err) {
    throw fail(
      `publish.topic gave "${topic}", which is not a topic to publish to: ${String((err as HookbridgeError).details.detail)}`,
    )
  }
  const properties: PublishProperties = {}
  // The request's Content-Type is carried over where MQTT can (5), never a reason to refuse; the rule's own
  // properties are sent as written, and refused on 3.1.1 rather than dropped.
  if (hook.contentType) properties.contentType = await render('publish.properties.contentType', hook.contentType)
  else if (contentType !== undefined && options.protocolVersion === 5) properties.contentType = contentType
  if (hook.userProperties.length > 0) {
    const userProperties: Record<string, string> = {}
    for (const [key, template] of hook.userProperties) {
      userProperties[key] = await render(`publish.properties.userProperties.${key}`, template)
    }
    properties.userProperties = userProperties
  }
  if (hook.messageExpiryInterval !== undefined) properties.messageExpiryInterval = hook.messageExpiryInterval
  return { topic, payload, qos: hook.qos, retain: hook.retain, properties }
}
