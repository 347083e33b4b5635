// Stand-ins for the MQTT side, for driving the HTTP app with app.request() (unit tests only).
import { type ApiConfig, apiConfigSchema } from '../../src/config/api-schema.js'
import { type App, type AppDeps, createApp, type Readiness } from '../../src/http/app.js'
import type { LiveMessage, LiveSource } from '../../src/mqtt/live-source.js'
import type { Publisher, PublishOptions, PublishResult } from '../../src/mqtt/publish.js'
import { silentLogger } from '../../src/observability/logger.js'
import { createRuleSet } from '../../src/rules/rule-set.js'
import { createMemorySpool } from '../../src/spool/memory-spool.js'

export interface PublishCall {
  topic: string
  payload: Buffer
  options: PublishOptions
}

export interface FakePublisher extends Publisher {
  calls: PublishCall[]
  /** How the next publishes are answered; default: acknowledged with message id = call number. */
  answer: (call: PublishCall, index: number) => Promise<PublishResult>
}

export function fakePublisher(): FakePublisher {
  const fake: FakePublisher = {
    calls: [],
    answer: async (call, index) => (call.options.qos === 0 ? {} : { messageId: index + 1, reasonCode: 0 }),
    async publish(topic, payload, options) {
      const call = { topic, payload, options }
      const index = fake.calls.push(call) - 1
      return fake.answer(call, index)
    },
  }
  return fake
}

export interface FakeLive extends LiveSource {
  subscriptions: Map<string, (m: LiveMessage) => void>
  unsubscribed: string[]
  /** Deliver to every subscription (no matching: tests subscribe to what they emit). */
  emit(message: Partial<LiveMessage> & { topic: string }): void
}

export function fakeLive(): FakeLive {
  const fake: FakeLive = {
    subscriptions: new Map(),
    unsubscribed: [],
    async subscribe(filter, onMessage) {
      fake.subscriptions.set(filter, onMessage)
      return async () => {
        fake.subscriptions.delete(filter)
        fake.unsubscribed.push(filter)
      }
    },
    emit(message) {
      const full: LiveMessage = { payload: Buffer.alloc(0), qos: 0, retain: false, ...message }
      for (const deliver of fake.subscriptions.values()) deliver(full)
    },
  }
  return fake
}

export interface TestApp {
  app: App
  publisher: FakePublisher
  live: FakeLive
  config: ApiConfig
  setReadiness(readiness: Readiness): void
}

export function testApp(
  config: Record<string, unknown> = {},
  deps: Partial<Pick<AppDeps, 'protocolVersion' | 'spool' | 'notifyDelivery' | 'rules'>> = {},
): TestApp {
  const publisher = fakePublisher()
  const live = fakeLive()
  const parsed = apiConfigSchema.parse(config)
  let readiness: Readiness = { ready: true, checks: { broker: { ok: true }, rules: { ok: true } } }
  const app = createApp({
    config: parsed,
    publisher,
    live,
    readiness: () => readiness,
    logger: silentLogger(),
    version: '0.0.0-test',
    protocolVersion: deps.protocolVersion ?? 5,
    rules: deps.rules ?? (() => createRuleSet([])),
    spool: deps.spool ?? createMemorySpool(),
    notifyDelivery: deps.notifyDelivery ?? (() => {}),
  })
  return {
    app,
    publisher,
    live,
    config: parsed,
    setReadiness(next) {
      readiness = next
    },
  }
}

/** A request body that arrives in chunks with no Content-Length (like `Transfer-Encoding: chunked`). */
export function chunkedBody(chunks: Uint8Array[]): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  let i = 0
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++])
      else controller.close()
    },
  })
  return { body, duplex: 'half' }
}
