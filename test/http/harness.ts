// The HTTP API on a real port in front of a real broker: an MQTT.js client for publishing, a second one behind a
// LiveSource for SSE, and helpers for a real MQTT subscriber and for reading Server-Sent Events.
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt'
import { apiConfigSchema } from '../../src/config/api-schema.js'
import { HookbridgeError } from '../../src/errors.js'
import { createApp, type Readiness } from '../../src/http/app.js'
import { type HttpServer, startHttpServer } from '../../src/http/server.js'
import type { LiveMessage, LiveSource } from '../../src/mqtt/live-source.js'
import { createPublisher } from '../../src/mqtt/publish.js'
import { silentLogger } from '../../src/observability/logger.js'
import { createRuleSet } from '../../src/rules/rule-set.js'
import { createMemorySpool } from '../../src/spool/memory-spool.js'
import { matches } from '../../src/topics/filter.js'
import { waitFor } from '../helpers/wait.js'

export interface Bridge {
  url: string
  server: HttpServer
  client: MqttClient
  liveClient: MqttClient
  close(): Promise<void>
}

export async function startBridge(
  brokerUrl: string,
  options: { protocolVersion: 4 | 5; config?: Record<string, unknown>; readiness?: () => Readiness },
): Promise<Bridge> {
  const config = apiConfigSchema.parse(options.config ?? {})
  const clientOptions: IClientOptions = {
    protocolVersion: options.protocolVersion,
    reconnectPeriod: 100,
    connectTimeout: 5_000,
  }
  const client = await mqtt.connectAsync(brokerUrl, {
    ...clientOptions,
    clientId: `bridge-pub-${process.pid}-${Date.now()}`,
  })
  const liveClient = await mqtt.connectAsync(brokerUrl, {
    ...clientOptions,
    clientId: `bridge-live-${process.pid}-${Date.now()}`,
  })
  const app = createApp({
    config,
    publisher: createPublisher(client, { timeoutMs: config.requestTimeoutMs }),
    live: testLiveSource(liveClient),
    readiness: options.readiness ?? (() => ({ ready: client.connected, checks: { broker: { ok: client.connected } } })),
    logger: silentLogger(),
    version: 'test',
    protocolVersion: options.protocolVersion,
    rules: () => createRuleSet([]),
    spool: createMemorySpool(),
    notifyDelivery: () => {},
  })
  const server = await startHttpServer(app, { host: '127.0.0.1', port: 0, shutdownGraceMs: 2_000 })
  return {
    url: `http://127.0.0.1:${server.port}`,
    server,
    client,
    liveClient,
    async close() {
      await server.close()
      await Promise.all([client.endAsync(true), liveClient.endAsync(true)])
    },
  }
}

/** The LiveSource the core provides, reduced to what a test needs: one subscription per stream. */
export function testLiveSource(client: MqttClient): LiveSource {
  const listeners = new Set<{ filter: string; onMessage: (m: LiveMessage) => void }>()
  client.on('message', (topic, payload, packet) => {
    for (const listener of listeners) {
      if (!matches(listener.filter, topic)) continue
      listener.onMessage({ topic, payload, qos: packet.qos, retain: packet.retain, properties: packet.properties })
    }
  })
  return {
    async subscribe(filter, onMessage) {
      const entry = { filter, onMessage }
      listeners.add(entry)
      const [grant] = await client.subscribeAsync(filter, { qos: 1 })
      if (grant === undefined || grant.qos >= 0x80) {
        listeners.delete(entry)
        throw new HookbridgeError('HOOKBRIDGE_MQTT_SUBSCRIBE_DENIED', { filter, reasonCode: grant?.qos ?? 0x80 })
      }
      return async () => {
        listeners.delete(entry)
        if (client.connected) await client.unsubscribeAsync(filter)
      }
    },
  }
}

export interface Received {
  topic: string
  payload: Buffer
  packet: IPublishPacket
}

export interface Subscriber {
  client: MqttClient
  messages: Received[]
  /** Waits until a message on `topic` arrived; returns every message received before it. */
  until(topic: string): Promise<Received[]>
  close(): Promise<void>
}

export async function startSubscriber(brokerUrl: string, filter: string, protocolVersion: 4 | 5): Promise<Subscriber> {
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion, reconnectPeriod: 0 })
  const messages: Received[] = []
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload, packet }))
  await client.subscribeAsync(filter, { qos: 2 })
  return {
    client,
    messages,
    async until(topic) {
      const index = await waitFor(
        () => {
          const i = messages.findIndex((m) => m.topic === topic)
          return i >= 0 ? i + 1 : undefined
        },
        { what: `a message on ${topic}` },
      )
      return messages.slice(0, index - 1)
    },
    async close() {
      await client.endAsync(true)
    },
  }
}

export interface SseEvent {
  event: string
  data: string
  id?: string
}

/** Reads Server-Sent Events from a fetch() response body. */
export function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  return {
    async next(): Promise<SseEvent | undefined> {
      for (;;) {
        const end = buffer.indexOf('\n\n')
        if (end >= 0) {
          const raw = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          if (raw.startsWith(':')) continue
          const fields: Record<string, string> = {}
          for (const line of raw.split('\n'))
            fields[line.slice(0, line.indexOf(': '))] = line.slice(line.indexOf(': ') + 2)
          return { event: fields.event ?? 'message', data: fields.data ?? '', id: fields.id }
        }
        const { value, done } = await reader.read()
        if (done) return undefined
        buffer += decoder.decode(value, { stream: true })
      }
    },
    cancel: () => reader.cancel(),
  }
}
