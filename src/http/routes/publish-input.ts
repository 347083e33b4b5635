// From an HTTP request (raw body + query/headers, or a JSON item) to one MQTT publish, checked before anything is
// sent: topic rules, the token's publish filters, and properties only on MQTT 5.
import type { Context } from 'hono'
import { HookbridgeError } from '../../errors.js'
import type { PublishProperties, PublishResult, QoS } from '../../mqtt/publish.js'
import { validateTopic } from '../../topics/filter.js'
import type { AppEnv, RouteContext } from '../app.js'
import { assertMayPublish, type Principal } from '../middleware/auth.js'
import type { PublishItem } from './publish-schemas.js'
import type { RawHeaders, RawQuery } from './raw-publish-options.js'

export interface PublishInput {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties: PublishProperties
}

export interface PublishOutcome {
  status: 200 | 202
  result: { topic: string; qos: number; retain: boolean; messageId?: number; reasonCode?: number }
}

const PREFIX = '/v1/publish/'

/** POST /v1/publish/{topic}: the body as is, options from the query string or MQTT-* headers. */
export function rawInput(
  c: Context<AppEnv>,
  query: RawQuery,
  headers: RawHeaders,
  protocolVersion: 4 | 5,
): PublishInput {
  const path = pathnameOf(c.req.url)
  let topic: string
  try {
    topic = decodeURIComponent(path.slice(PREFIX.length))
  } catch {
    throw new HookbridgeError('HOOKBRIDGE_TOPIC_INVALID', {
      topic: path.slice(PREFIX.length),
      detail: 'the path is not valid percent-encoded UTF-8',
    })
  }
  const pick = <T>(name: string, fromQuery: T | undefined, header: string, fromHeader: T | undefined) => {
    if (fromQuery !== undefined && fromHeader !== undefined && fromQuery !== fromHeader) {
      throw invalid(`${name} is given both in the query (${fromQuery}) and in ${header} (${fromHeader}); give it once`)
    }
    return fromQuery ?? fromHeader
  }
  const qos = pick('qos', query.qos, 'MQTT-QoS', headers['mqtt-qos'])
  const retain = pick('retain', query.retain, 'MQTT-Retain', headers['mqtt-retain'])
  const expiry = pick(
    'messageExpirySeconds',
    query.messageExpirySeconds,
    'MQTT-Message-Expiry-Seconds',
    headers['mqtt-message-expiry-seconds'],
  )
  const properties: PublishProperties = {}
  const responseTopic = pick(
    'responseTopic',
    query.responseTopic,
    'MQTT-Response-Topic',
    headers['mqtt-response-topic'],
  )
  if (responseTopic !== undefined) properties.responseTopic = responseTopic
  const correlation = pick(
    'correlationData',
    query.correlationData,
    'MQTT-Correlation-Data',
    headers['mqtt-correlation-data'],
  )
  if (correlation !== undefined) properties.correlationData = Buffer.from(correlation, 'utf8')
  if (expiry !== undefined) properties.messageExpiryInterval = Number(expiry)
  if (query.userProperty !== undefined || headers['mqtt-user-property'] !== undefined) {
    const pairs = [
      ...[query.userProperty ?? []].flat().map((pair) => splitPair(pair, (text) => text)),
      ...splitHeaderList(headers['mqtt-user-property']),
    ]
    if (pairs.length > 0) properties.userProperties = userProperties(pairs)
  }
  // HTTP needs a Content-Type anyway, so it is only carried over where MQTT can (5); never a reason to refuse.
  const contentType = c.req.header('content-type')
  if (contentType !== undefined && protocolVersion === 5) properties.contentType = contentType
  return {
    topic,
    payload: c.get('body'),
    qos: Number(qos ?? 1) as QoS,
    retain: retain === 'true' || retain === '1',
    properties,
  }
}

/** The path of a URL as serialised by the URL parser (what `new URL(url).pathname` gives, without parsing it). */
export function pathnameOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start === -1) return '/'
  let end = url.length
  for (const mark of ['?', '#']) {
    const at = url.indexOf(mark, start)
    if (at !== -1 && at < end) end = at
  }
  return url.slice(start, end)
}

/** An item of POST /v1/publish or /v1/publish/batch. */
export function jsonInput(item: PublishItem): PublishInput {
  const encoding = item.encoding ?? (typeof item.payload === 'string' ? 'utf8' : 'json')
  const payload =
    encoding === 'json'
      ? Buffer.from(JSON.stringify(item.payload), 'utf8')
      : Buffer.from(item.payload as string, encoding === 'base64' ? 'base64' : 'utf8')
  const p = item.properties ?? {}
  const properties: PublishProperties = {}
  if (p.contentType !== undefined) properties.contentType = p.contentType
  if (p.responseTopic !== undefined) properties.responseTopic = p.responseTopic
  if (p.correlationData !== undefined) properties.correlationData = Buffer.from(p.correlationData, 'utf8')
  if (p.messageExpirySeconds !== undefined) properties.messageExpiryInterval = p.messageExpirySeconds
  if (p.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = p.payloadFormatIndicator
  if (p.userProperties !== undefined) properties.userProperties = p.userProperties
  return { topic: item.topic, payload, qos: item.qos, retain: item.retain, properties }
}

export async function publishOne(
  ctx: RouteContext,
  principal: Principal,
  input: PublishInput,
): Promise<PublishOutcome> {
  const { topic, qos, retain } = input
  validateTopic(topic, { allowDollar: ctx.config.allowDollarTopics })
  assertMayPublish(principal, topic)
  const hasProperties = checkProperties(ctx, input.properties)
  const sent: PublishResult = await ctx.publisher.publish(topic, input.payload, {
    qos,
    retain,
    properties: hasProperties ? input.properties : undefined,
  })
  const result: PublishOutcome['result'] = { topic, qos, retain }
  if (sent.messageId !== undefined) result.messageId = sent.messageId
  if (sent.reasonCode !== undefined) result.reasonCode = sent.reasonCode
  return { status: qos === 0 ? 202 : 200, result }
}

/** Throws when the properties cannot be sent; returns whether there are any. */
function checkProperties(ctx: RouteContext, properties: PublishProperties): boolean {
  const names = Object.keys(properties)
  if (names.length === 0) return false
  if (ctx.protocolVersion === 4) {
    throw new HookbridgeError('HOOKBRIDGE_PROPERTIES_UNSUPPORTED', { names: names.join(', ') })
  }
  if (properties.responseTopic !== undefined) {
    try {
      validateTopic(properties.responseTopic, { allowDollar: ctx.config.allowDollarTopics })
    } catch (err) {
      throw invalid(`responseTopic: ${(err as Error).message}`)
    }
  }
  // MQTT strings must not contain U+0000 (section 1.5.4).
  const strings = [properties.contentType ?? '', ...Object.entries(properties.userProperties ?? {}).flat(2)]
  if (strings.some((s) => s.includes('\0'))) throw invalid('MQTT properties must not contain the NUL character')
  return true
}

/** `MQTT-User-Property: a=1, b=x%2Cy`: comma-separated, each key and value percent-decoded. */
function splitHeaderList(value: string | undefined): Array<[string, string]> {
  if (value === undefined) return []
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => splitPair(part, decode))
}

function splitPair(pair: string, decodePart: (text: string) => string): [string, string] {
  const eq = pair.indexOf('=')
  if (eq <= 0) throw invalid(`user property "${pair}" is not key=value`)
  return [decodePart(pair.slice(0, eq)), decodePart(pair.slice(eq + 1))]
}

function userProperties(pairs: Array<[string, string]>): Record<string, string | string[]> {
  const out = new Map<string, string | string[]>()
  for (const [key, value] of pairs) {
    const existing = out.get(key)
    out.set(key, existing === undefined ? value : [...[existing].flat(), value])
  }
  return Object.fromEntries(out)
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw invalid(`MQTT-User-Property: "${text}" is not valid percent-encoding`)
  }
}

function invalid(detail: string): HookbridgeError {
  return new HookbridgeError('HOOKBRIDGE_REQUEST_INVALID', { detail })
}
