// The raw HTTP -> MQTT publish handler that hookbridge's POST /v1/publish/{topic} is compared with: hono on
// @hono/node-server, the body published as is with MQTT.js at QoS 1, answered after the PUBACK. No validation,
// authentication, limits or idempotency.
import type { Socket } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import mqtt from 'mqtt'
import { serve } from '../lib/ipc.js'

const brokerUrl = process.env.BENCH_BROKER_URL
if (!brokerUrl) throw new Error('BENCH_BROKER_URL is not set')

const client = mqtt.connect(brokerUrl, { clean: true, clientId: `raw-publish-api-${process.pid}` })
client.on('connect', () => (client.stream as unknown as Socket).setNoDelay?.(true))

const app = new Hono()
app.post('/v1/publish/:topic{.+}', async (c) => {
  const topic = c.req.param('topic')
  const body = Buffer.from(await c.req.arrayBuffer())
  const packet = await client.publishAsync(topic, body, { qos: 1 })
  return c.json({ topic, qos: 1, retain: false, messageId: packet?.messageId }, 200)
})

client.once('connect', () => {
  const server = createAdaptorServer({ fetch: app.fetch, hostname: '127.0.0.1' })
  server.listen(0, '127.0.0.1', () => {
    const address = server.address()
    serve({}, { port: typeof address === 'object' && address ? address.port : 0 })
  })
})
