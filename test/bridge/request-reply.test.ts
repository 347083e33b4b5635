// POST /v1/request/{topic} through running hookbridge instances on mosquitto (MQTT 5): responders in a
// shared-subscription group answer to the response topic with the correlation data, as MQTT 5 responders do.
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js'
import { waitFor } from '../helpers/wait.js'

interface Responder {
  client: MqttClient
  handled: number
}

/** A member of the `responders` group: replies `<name>:<request payload>` with properties of its own. */
async function startResponder(url: string, name: string): Promise<Responder> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, clientId: `responder-${name}-${process.pid}` })
  const responder: Responder = { client, handled: 0 }
  client.on('message', (_topic, payload, packet) => {
    const { responseTopic, correlationData } = packet.properties ?? {}
    if (!responseTopic) return
    responder.handled++
    client.publish(responseTopic, `${name}:${payload.toString()}`, {
      qos: 1,
      properties: {
        correlationData,
        contentType: 'text/plain; charset=utf-8',
        userProperties: { responder: name, 'odd, key': 'a=b' },
      },
    })
  })
  await client.subscribeAsync('$share/responders/svc/+', { qos: 1 })
  return responder
}

describe('request/response over MQTT 5', () => {
  let broker: TestMosquitto
  let responders: Responder[] = []
  const bridges: TestBridge[] = []

  beforeEach(async () => {
    broker = await startMosquitto()
    responders = [await startResponder(broker.url, 'r1'), await startResponder(broker.url, 'r2')]
  })
  afterEach(async () => {
    for (const hb of bridges.splice(0)) await hb.close()
    for (const r of responders) await r.client.endAsync(true)
    await broker.close()
  })

  async function bridge(options: { protocolVersion?: 4 | 5; config?: Record<string, unknown> } = {}): Promise<string> {
    const hb = await startTestBridge({ mqttUrl: broker.url, rules: {}, ...options })
    bridges.push(hb)
    await waitFor(() => hb.bridge.readiness().ready, { what: 'ready' })
    return `http://127.0.0.1:${hb.bridge.httpPort}`
  }
  const request = (base: string, topic: string, body: string, query = '') =>
    fetch(`${base}/v1/request/${topic}${query}`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })

  it("answers with the reply's payload, content type, user properties and topic", async () => {
    const base = await bridge()
    const res = await request(base, 'svc/echo', 'hello')
    expect(res.status).toBe(200)
    expect(await res.text()).toMatch(/^r[12]:hello$/)
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(res.headers.get('mqtt-user-property')).toMatch(/^responder=r[12], odd%2C%20key=a%3Db$/)
    expect(res.headers.get('mqtt-topic')).toMatch(/^hookbridge\/replies\/hookbridge-test-\d+-\d+\/[\w-]+$/)
  })

  it('gives each of many concurrent requests its own reply, answered across the group', async () => {
    const base = await bridge()
    const bodies = Array.from({ length: 40 }, (_, i) => `request ${i}`)
    const answers = await Promise.all(bodies.map((body, i) => request(base, `svc/n${i % 4}`, body)))
    const texts = await Promise.all(answers.map((res) => res.text()))
    expect(answers.every((res) => res.status === 200)).toBe(true)
    expect(texts.map((text) => text.slice(3))).toEqual(bodies)
    expect(responders.map((r) => r.handled > 0)).toEqual([true, true])
    expect(responders[0]!.handled + responders[1]!.handled).toBe(40)
  })

  it('two instances behind one load balancer each get their own replies', async () => {
    const bases = [await bridge(), await bridge()]
    const calls = Array.from({ length: 20 }, (_, i) => ({ base: bases[i % 2]!, body: `from ${i % 2} #${i}` }))
    const answers = await Promise.all(calls.map(({ base, body }) => request(base, 'svc/lb', body)))
    for (const [i, res] of answers.entries()) {
      expect(res.status).toBe(200)
      expect((await res.text()).slice(3)).toBe(calls[i]!.body)
    }
    const replyTopics = answers.map((res) => res.headers.get('mqtt-topic')!.split('/').slice(0, 3).join('/'))
    expect(new Set(replyTopics.filter((_, i) => i % 2 === 0)).size).toBe(1)
    expect(new Set(replyTopics).size).toBe(2)
  })

  it('answers 504 HOOKBRIDGE_REPLY_TIMEOUT when nobody replies, and bounds timeoutMs', async () => {
    const base = await bridge({ config: { api: { port: 0, requestReplyTimeoutMs: 2_000 } } })
    const started = Date.now()
    const res = await request(base, 'nobody/home', 'anyone?', '?timeoutMs=300')
    expect(res.status).toBe(504)
    expect((await res.json()).error.code).toBe('HOOKBRIDGE_REPLY_TIMEOUT')
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    const tooLong = await request(base, 'svc/x', 'x', '?timeoutMs=2001')
    expect(tooLong.status).toBe(400)
    expect((await tooLong.json()).error.message).toMatch(/between 1 and 2000 \(api\.requestReplyTimeoutMs\)/)
    const ownResponseTopic = await request(base, 'svc/x', 'x', '?responseTopic=mine')
    expect(ownResponseTopic.status).toBe(400)
  })

  it('needs publish permission on the topic', async () => {
    const token = 'svc-only-token-0123456789'
    const base = await bridge({ config: { api: { port: 0, tokens: [{ name: 'svc', token, publish: ['svc/#'] }] } } })
    const post = (topic: string) =>
      fetch(`${base}/v1/request/${topic}`, { method: 'POST', body: 'x', headers: { authorization: `Bearer ${token}` } })
    expect((await post('other/x')).status).toBe(403)
    expect((await post('svc/x')).status).toBe(200)
  })

  it('answers 501 HOOKBRIDGE_MQTT5_REQUIRED on an MQTT 3.1.1 connection', async () => {
    const base = await bridge({ protocolVersion: 4 })
    const res = await request(base, 'svc/echo', 'hello')
    expect(res.status).toBe(501)
    const { error } = await res.json()
    expect(error.code).toBe('HOOKBRIDGE_MQTT5_REQUIRED')
    expect(error.message).toMatch(/^POST \/v1\/request needs MQTT 5 .* Set mqtt\.protocolVersion to 5/)
    expect(responders[0]!.handled + responders[1]!.handled).toBe(0)
  })
})
