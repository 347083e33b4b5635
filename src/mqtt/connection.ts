// The MQTT client: a persistent session (clean start off, with an expiry) so the broker keeps QoS 1/2 messages
// while hookbridge is away, reconnects with exponential backoff and jitter, and TCP_NODELAY on the socket.
import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import type { MqttConfig } from '../config/schema.js'
import { HookbridgeError } from '../errors.js'
import type { Logger } from '../observability/logger.js'
import { coalesceWrites } from './write-coalescing.js'

export interface MqttConnectionOptions {
  config: MqttConfig
  /** The URL to connect to (the configured one, or the embedded broker's). */
  url: string
  logger: Logger
  /** Installed before connecting, so no message can arrive before it. */
  customHandleAcks?: IClientOptions['customHandleAcks']
  /** Called on every CONNACK, before anything else happens on the new connection. */
  onConnect?: (sessionPresent: boolean) => void | Promise<void>
}

export interface MqttConnection {
  client: MqttClient
  readonly reconnects: number
  /** Resolves on the first CONNACK; rejects with HOOKBRIDGE_MQTT_CONNECT_FAILED when it does not come in time. */
  ready: Promise<void>
  close(): Promise<void>
}

export function defaultClientId(): string {
  return `hookbridge-${hostname()}`.slice(0, 64)
}

/**
 * MQTT.js logs through `debug` about ten times per packet; a disabled `debug` logger still costs a call and an
 * arguments array each time (5% of all allocations with a backlog coming in). `debug` is only ever switched on by
 * the DEBUG environment variable, so without it MQTT.js gets a logger that does nothing at all.
 */
function mqttDebugLog(): IClientOptions['log'] {
  return process.env.DEBUG ? undefined : () => {}
}

export function connectMqtt(options: MqttConnectionOptions): MqttConnection {
  const { config, url, logger } = options
  const clientOptions: IClientOptions = {
    protocolVersion: config.protocolVersion,
    clientId: config.clientId ?? defaultClientId(),
    clean: false,
    keepalive: config.keepaliveSec,
    connectTimeout: config.connectTimeoutMs,
    reconnectPeriod: config.reconnectMinMs,
    resubscribe: false,
    queueQoSZero: false,
    username: config.username,
    password: config.password,
    rejectUnauthorized: config.rejectUnauthorized,
    ca: config.ca ? readFileSync(config.ca) : undefined,
    cert: config.cert ? readFileSync(config.cert) : undefined,
    key: config.key ? readFileSync(config.key) : undefined,
    customHandleAcks: options.customHandleAcks,
    log: mqttDebugLog(),
    // receiveMaximum bounds the QoS 1/2 messages the broker sends before our acknowledgements (ack-pipeline).
    properties:
      config.protocolVersion === 5
        ? { sessionExpiryInterval: config.sessionExpirySec, receiveMaximum: 1000 }
        : undefined,
  }
  const client = mqtt.connect(url, clientOptions)
  coalesceWrites(client)
  // MQTT.js installs customHandleAcks only for MQTT 5; its 3.1.1 hook, handleMessage, runs for QoS 2 only after
  // PUBREC has been sent, when the broker already considers the message ours. Installed for both versions, the
  // hook runs before PUBACK and before PUBREC, so on 3.1.1 too a message is stored before it is acknowledged.
  // (On 3.1.1 the reason code it passes is simply not encoded.) Set before the first packet can arrive.
  if (options.customHandleAcks) client.options.customHandleAcks = options.customHandleAcks
  let reconnects = 0
  let failures = 0
  let everConnected = false

  client.on('connect', (connack) => {
    failures = 0
    client.options.reconnectPeriod = config.reconnectMinMs
    const socket = client.stream as unknown as { setNoDelay?: (on: boolean) => void }
    socket.setNoDelay?.(true)
    if (everConnected) reconnects++
    everConnected = true
    logger.info({ url: redactUrl(url), sessionPresent: connack.sessionPresent }, 'connected to the MQTT broker')
    Promise.resolve(options.onConnect?.(connack.sessionPresent)).catch((err: unknown) =>
      logger.error({ err }, 'setting up the MQTT session failed'),
    )
  })
  client.on('close', () => {
    if (client.disconnecting) return
    failures++
    // Exponential backoff with full jitter, between reconnectMinMs and reconnectMaxMs.
    const ceiling = Math.min(config.reconnectMaxMs, config.reconnectMinMs * 2 ** Math.min(failures, 20))
    client.options.reconnectPeriod = Math.max(config.reconnectMinMs, Math.round(Math.random() * ceiling))
    if (everConnected && failures === 1) logger.warn({ url: redactUrl(url) }, 'lost the MQTT connection: reconnecting')
  })
  client.on('error', (err) => {
    logger.warn({ url: redactUrl(url), err: err.message }, 'MQTT error')
  })

  const ready = new Promise<void>((resolve, reject) => {
    if (client.connected) return resolve()
    const timer = setTimeout(() => {
      client.off('connect', onConnect)
      reject(
        new HookbridgeError('HOOKBRIDGE_MQTT_CONNECT_FAILED', {
          url: redactUrl(url),
          detail: `no CONNACK within ${config.connectTimeoutMs} ms`,
        }),
      )
    }, config.connectTimeoutMs)
    timer.unref()
    const onConnect = () => {
      clearTimeout(timer)
      resolve()
    }
    client.once('connect', onConnect)
  })
  ready.catch(() => {})

  return {
    client,
    get reconnects() {
      return reconnects
    },
    ready,
    async close() {
      await client.endAsync(false)
    },
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}
