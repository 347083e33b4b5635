// The message envelope: what `when`, `transform`, `orderBy` and URL/header templates see.
import type { IPublishPacket } from 'mqtt'
import type { SourceMessage } from '../spool/spool.js'

export interface Envelope {
  topic: string
  params: Record<string, string>
  /** Parsed JSON when the payload is JSON, else the UTF-8 text. */
  payload: unknown
  /** The raw bytes as base64 (computed on first use). */
  readonly payloadBase64: string
  qos: 0 | 1 | 2
  retain: boolean
  properties: Record<string, unknown>
  receivedAt: number
}

export interface DecodedPayload {
  value: unknown
  isJson: boolean
}

/** JSON when it parses as JSON, else UTF-8 text. Never throws. */
export function decodePayload(bytes: Buffer): DecodedPayload {
  const text = bytes.toString('utf8')
  const first = firstNonSpace(text)
  // Only try JSON.parse where JSON can start: parsing every text payload would cost an exception each.
  if (
    first === '{' ||
    first === '[' ||
    first === '"' ||
    first === '-' ||
    (first >= '0' && first <= '9') ||
    first === 't' ||
    first === 'f' ||
    first === 'n'
  ) {
    try {
      return { value: JSON.parse(text), isJson: true }
    } catch {
      // not JSON: fall through to text
    }
  }
  return { value: text, isJson: false }
}

function firstNonSpace(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c !== ' ' && c !== '\n' && c !== '\r' && c !== '\t') return c
  }
  return ''
}

/** MQTT 5 properties as plain JSON: binary correlation data as base64, user properties as an object. */
export function propertiesToJson(properties: IPublishPacket['properties'] | undefined): Record<string, unknown> {
  if (!properties) return {}
  const out: Record<string, unknown> = {}
  if (properties.contentType !== undefined) out.contentType = properties.contentType
  if (properties.responseTopic !== undefined) out.responseTopic = properties.responseTopic
  if (properties.correlationData !== undefined)
    out.correlationData = Buffer.from(properties.correlationData).toString('base64')
  if (properties.messageExpiryInterval !== undefined) out.messageExpiryInterval = properties.messageExpiryInterval
  if (properties.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = properties.payloadFormatIndicator
  if (properties.userProperties !== undefined) out.userProperties = properties.userProperties
  return out
}

export function createEnvelope(
  message: SourceMessage,
  decoded: DecodedPayload,
  params: Record<string, string>,
): Envelope {
  let base64: string | undefined
  const envelope = {
    topic: message.topic,
    params,
    payload: decoded.value,
    qos: message.qos,
    retain: message.retain,
    properties: message.properties ?? {},
    receivedAt: message.receivedAt,
  }
  Object.defineProperty(envelope, 'payloadBase64', {
    enumerable: true,
    get: () => {
      base64 ??= message.payload.toString('base64')
      return base64
    },
  })
  return envelope as Envelope
}

/**
 * The envelope with more fields (e.g. the transform's `result`), as an object of its own: JSONata does not read
 * through prototypes. `payloadBase64` stays lazy.
 */
export function extendEnvelope(envelope: Envelope, extra: Record<string, unknown>): Envelope & Record<string, unknown> {
  const out: Record<string, unknown> = {
    topic: envelope.topic,
    params: envelope.params,
    payload: envelope.payload,
    qos: envelope.qos,
    retain: envelope.retain,
    properties: envelope.properties,
    receivedAt: envelope.receivedAt,
  }
  Object.defineProperty(out, 'payloadBase64', { enumerable: true, get: () => envelope.payloadBase64 })
  return Object.assign(out, extra) as Envelope & Record<string, unknown>
}
