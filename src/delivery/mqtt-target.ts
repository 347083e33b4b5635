// MQTT targets (republish) ride the spool, which stores HTTP-shaped requests, in this one encoding:
//   method   'MQTT'
//   url      the topic, computed at intake
//   body     the payload
//   headers  'mqtt-qos': '0' | '1' | '2'          'mqtt-retain': 'true' | 'false'
//            'content-type': MQTT 5 content type (optional)
//            'mqtt-message-expiry-interval': seconds (optional)
//            'mqtt-user-properties': JSON object, name -> string or list of strings (optional)
// publishJob sends such a job through the Publisher and reports the outcome as the worker's SendResult.
import { HookbridgeError, isHookbridgeError } from '../errors.js'
import type { PublishOptions, PublishProperties, PublishResult, QoS } from '../mqtt/publish.js'
import type { OutgoingRequest } from '../spool/spool.js'
import type { SendResult } from './send.js'

export const MQTT_METHOD = 'MQTT'

export type UserProperties = Record<string, string | string[]>

export interface MqttMessage {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  contentType?: string
  messageExpiryInterval?: number
  userProperties?: UserProperties
}

export type PublishFunction = (topic: string, payload: Buffer, options: PublishOptions) => Promise<PublishResult>

export function isMqttRequest(request: OutgoingRequest): boolean {
  return request.method === MQTT_METHOD
}

export function encodeMqttRequest(message: MqttMessage): OutgoingRequest {
  const headers: Record<string, string> = {
    'mqtt-qos': String(message.qos),
    'mqtt-retain': String(message.retain),
  }
  if (message.contentType !== undefined) headers['content-type'] = message.contentType
  if (message.messageExpiryInterval !== undefined)
    headers['mqtt-message-expiry-interval'] = String(message.messageExpiryInterval)
  if (message.userProperties && Object.keys(message.userProperties).length > 0)
    headers['mqtt-user-properties'] = JSON.stringify(message.userProperties)
  return { method: MQTT_METHOD, url: message.topic, headers, body: message.payload }
}

/** Tolerant of missing headers (a job dead-lettered at intake has none): QoS 1, no retain, no properties. */
export function decodeMqttRequest(request: OutgoingRequest): MqttMessage {
  const { headers } = request
  const qos = Number(headers['mqtt-qos'] ?? 1)
  const message: MqttMessage = {
    topic: request.url,
    payload: request.body,
    qos: qos === 0 || qos === 2 ? qos : 1,
    retain: headers['mqtt-retain'] === 'true',
  }
  if (headers['content-type'] !== undefined) message.contentType = headers['content-type']
  const expiry = headers['mqtt-message-expiry-interval']
  if (expiry !== undefined) message.messageExpiryInterval = Number(expiry)
  const user = headers['mqtt-user-properties']
  if (user !== undefined) message.userProperties = JSON.parse(user) as UserProperties
  return message
}

export function publishProperties(message: MqttMessage): PublishProperties | undefined {
  const properties: PublishProperties = {}
  if (message.contentType !== undefined) properties.contentType = message.contentType
  if (message.messageExpiryInterval !== undefined) properties.messageExpiryInterval = message.messageExpiryInterval
  if (message.userProperties !== undefined) properties.userProperties = message.userProperties
  return Object.keys(properties).length > 0 ? properties : undefined
}

/**
 * One attempt of an MQTT job. The broker's ack means done; a broker that is away or an ack that never came means
 * retry (HOOKBRIDGE_REPUBLISH_UNAVAILABLE); a refusal (reason code >= 0x80) or a loop back into the rule means
 * dead letter. `loopFilter` names the rule's filter that matches the topic, if one does.
 */
export async function publishJob(
  request: OutgoingRequest,
  publish: PublishFunction | undefined,
  loopFilter: (topic: string) => string | undefined,
  rule: string,
): Promise<SendResult> {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  const topic = request.url
  const filter = loopFilter(topic)
  if (filter !== undefined) {
    return { error: new HookbridgeError('HOOKBRIDGE_REPUBLISH_LOOP', { rule, topic, filter }), durationMs: 0 }
  }
  if (!publish) {
    const detail = 'no MQTT publisher is configured'
    return { error: new HookbridgeError('HOOKBRIDGE_REPUBLISH_UNAVAILABLE', { topic, detail }), durationMs: 0 }
  }
  let message: MqttMessage
  try {
    message = decodeMqttRequest(request)
  } catch (err) {
    const detail = `its MQTT headers are malformed: ${(err as Error).message}`
    return { error: new HookbridgeError('HOOKBRIDGE_DELIVERY_INVALID_REQUEST', { url: topic, detail }), durationMs: 0 }
  }
  const properties = publishProperties(message)
  const options: PublishOptions = { qos: message.qos, retain: message.retain }
  if (properties) options.properties = properties
  try {
    await publish(topic, message.payload, options)
    return { durationMs: elapsed() }
  } catch (err) {
    return { error: publishFailure(topic, err), durationMs: elapsed() }
  }
}

function publishFailure(topic: string, err: unknown): HookbridgeError {
  if (isHookbridgeError(err, 'HOOKBRIDGE_PUBLISH_REJECTED')) {
    const { reasonCode, reason } = err.details
    return new HookbridgeError('HOOKBRIDGE_REPUBLISH_REJECTED', { topic, reasonCode, reason }, { cause: err })
  }
  const transient =
    !isHookbridgeError(err) ||
    isHookbridgeError(err, 'HOOKBRIDGE_BROKER_UNAVAILABLE') ||
    isHookbridgeError(err, 'HOOKBRIDGE_PUBLISH_UNCONFIRMED')
  // Other catalogue errors (MQTT 5 properties on a 3.1.1 connection, an invalid topic) fail again: not retried.
  if (!transient) return err
  const detail = err instanceof Error ? err.message : String(err)
  return new HookbridgeError('HOOKBRIDGE_REPUBLISH_UNAVAILABLE', { topic, detail }, { cause: err })
}
