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
  return new EnvelopeRecord(
    message.topic,
    params,
    decoded.value,
    message.qos,
    message.retain,
    message.properties ?? {},
    message.receivedAt,
    message.payload,
  )
}

/**
 * The envelope with more fields (e.g. the transform's `result`), as an object of its own: JSONata does not read
 * through prototypes. `payloadBase64` stays lazy.
 */
export function extendEnvelope(envelope: Envelope, extra: Record<string, unknown>): Envelope & Record<string, unknown> {
  return Object.assign(EnvelopeRecord.copy(envelope), extra) as Envelope & Record<string, unknown>
}

// Every envelope has the same shape (hidden class): its lazy `payloadBase64` is an own enumerable property (so
// `$keys`, `$string` and JSON see it) whose getter is one function shared by all envelopes. A getter closed over
// each message would give each envelope a hidden class of its own: a new map per message, and JSONata's property
// lookups would go megamorphic.
class EnvelopeRecord {
  readonly #bytes: Buffer
  #base64: string | undefined
  declare readonly payloadBase64: string

  constructor(
    public topic: string,
    public params: Record<string, string>,
    public payload: unknown,
    public qos: 0 | 1 | 2,
    public retain: boolean,
    public properties: Record<string, unknown>,
    public receivedAt: number,
    bytes: Buffer,
  ) {
    this.#bytes = bytes
    this.#base64 = undefined
    Object.defineProperty(this, 'payloadBase64', payloadBase64)
  }

  /** The same fields; the base64 text is shared once computed. */
  static copy(envelope: Envelope): EnvelopeRecord {
    if (!(envelope instanceof EnvelopeRecord)) {
      const { topic, params, payload, qos, retain, properties, receivedAt } = envelope
      const bytes = Buffer.from(envelope.payloadBase64, 'base64')
      return new EnvelopeRecord(topic, params, payload, qos, retain, properties, receivedAt, bytes)
    }
    const { topic, params, payload, qos, retain, properties, receivedAt } = envelope
    const copy = new EnvelopeRecord(topic, params, payload, qos, retain, properties, receivedAt, envelope.#bytes)
    copy.#base64 = envelope.#base64
    return copy
  }

  static base64Of(envelope: EnvelopeRecord): string {
    envelope.#base64 ??= envelope.#bytes.toString('base64')
    return envelope.#base64
  }
}

const payloadBase64: PropertyDescriptor = {
  enumerable: true,
  configurable: false,
  get(this: EnvelopeRecord) {
    return EnvelopeRecord.base64Of(this)
  },
}
