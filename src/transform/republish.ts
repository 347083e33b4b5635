// The message an MQTT target republishes, computed at intake and stored in the spool's request shape
// (delivery/mqtt-target.ts describes that encoding).
import { encodeMqttRequest, type MqttMessage, type UserProperties } from '../delivery/mqtt-target.js'
import type { CompiledMqttTarget } from '../rules/compile-outputs.js'
import type { OutgoingRequest, SourceMessage } from '../spool/spool.js'
import { validateTopic } from '../topics/filter.js'
import type { Template } from './template.js'

export interface RepublishInput {
  payload: Buffer
  /** The rule has a transform: the payload is its JSON, and the message's own content type no longer applies. */
  transformed: boolean
  message: SourceMessage
}

/** `render` renders one template with the message's template input, naming the field when it fails. */
export async function buildMqttRequest(
  target: CompiledMqttTarget,
  { payload, transformed, message }: RepublishInput,
  render: (field: string, template: Template) => Promise<string>,
): Promise<OutgoingRequest> {
  const topic = await render('to.mqtt.topic', target.topic)
  validateTopic(topic)
  const out: MqttMessage = { topic, payload, qos: target.qos, retain: target.retain }
  const declared = message.properties?.contentType
  if (target.contentType) out.contentType = await render('to.mqtt.properties.contentType', target.contentType)
  else if (!transformed && typeof declared === 'string' && declared !== '') out.contentType = declared
  if (target.messageExpiryInterval !== undefined) out.messageExpiryInterval = target.messageExpiryInterval
  const user: UserProperties = traceContext(message)
  for (const [name, template] of target.userProperties) {
    user[name] = await render(`to.mqtt.properties.userProperties.${name}`, template)
  }
  if (Object.keys(user).length > 0) out.userProperties = user
  return encodeMqttRequest(out)
}

/** W3C trace context travels on, as it does into webhook headers. */
export function traceContext(message: SourceMessage): UserProperties {
  const properties = message.properties?.userProperties as UserProperties | undefined
  const out: UserProperties = {}
  for (const name of ['traceparent', 'tracestate']) {
    const value = properties?.[name]
    const first = Array.isArray(value) ? value[0] : value
    if (typeof first === 'string') out[name] = first
  }
  return out
}
