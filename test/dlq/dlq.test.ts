// Dead letters end to end: a real broker (aedes), hookbridge in-process with its durable spool, a receiver
// that refuses; then the dead letters over real HTTP and through the built CLI, against a running instance
// and against the spool file alone.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startAedes, type TestBroker } from '../helpers/aedes.js'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { runCli } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

const ADMIN = 'ops-admin-token-0123456789'
const PUBLISHER = 'sensors-token-0123456789'
const BYTES = Buffer.from([0x7b, 0x00, 0xff, 0xfe, 0x0a, 0x7d]) // not UTF-8: must come back unchanged

let broker: TestBroker
let receiver: TestReceiver
let dataDir: string
let hb: TestBridge | undefined
let device: MqttClient | undefined

beforeEach(async () => {
  broker = await startAedes()
  // First attempt 503 (retried), then 400 (dead-lettered at once).
  receiver = await startReceiver((_, i) => ({ status: i === 0 ? 503 : 400 }))
  dataDir = mkdtempSync(join(tmpdir(), 'hookbridge-dlq-'))
})

afterEach(async () => {
  await device?.endAsync()
  device = undefined
  await hb?.close()
  hb = undefined
  await receiver.close()
  await broker.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function startBridge(): Promise<TestBridge> {
  hb = await startTestBridge({
    mqttUrl: broker.url,
    protocolVersion: 4,
    rules: {
      raw: {
        from: { topic: 'plant/#', qos: 1 },
        to: { url: `${receiver.url}/hook` },
        retry: { initialDelayMs: 20, maxDelayMs: 50 },
      },
    },
    config: {
      dataDir,
      api: {
        port: 0,
        tokens: [
          { name: 'ops', token: ADMIN, admin: true },
          { name: 'sensors', token: PUBLISHER, publish: ['plant/#'] },
        ],
      },
    },
  })
  await waitFor(() => hb!.bridge.readiness().ready, { what: 'bridge ready' })
  return hb
}

/** Publishes BYTES and waits until the message is a dead letter; returns its delivery id. */
async function deadLetter(bridge: TestBridge, topic = 'plant/line-1/press'): Promise<string> {
  const before = bridge.bridge.spool.listDeadLetters().length
  device ??= await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: `device-${Date.now()}` })
  await device.publishAsync(topic, BYTES, { qos: 1 })
  const dead = await waitFor(() => bridge.bridge.spool.listDeadLetters().slice(before)[0], { what: 'a dead letter' })
  return dead.id
}

function api(bridge: TestBridge, token = ADMIN) {
  const base = `http://127.0.0.1:${bridge.bridge.httpPort}`
  return async (method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: await res.json() }
  }
}

describe('dead letters over HTTP', () => {
  it('keeps the original bytes, topic, rule and every attempt; a replay is delivered with the same delivery id', async () => {
    const bridge = await startBridge()
    const id = await deadLetter(bridge)
    const call = api(bridge)

    const list = await call('GET', '/v1/dlq')
    expect(list.status).toBe(200)
    expect(list.body.items).toEqual([
      expect.objectContaining({ id, rule: 'raw', topic: 'plant/line-1/press', attempts: 2, lastStatus: 400 }),
    ])
    const shown = await call('GET', `/v1/dlq/${encodeURIComponent(id)}`)
    expect(shown.status).toBe(200)
    expect(Buffer.from(shown.body.message.payloadBase64, 'base64').equals(BYTES)).toBe(true)
    expect(shown.body.message.payloadText).toBeUndefined()
    expect(shown.body).toMatchObject({ rule: 'raw', topic: 'plant/line-1/press', message: { qos: 1 } })
    expect(shown.body.history.map((a: { status: number }) => a.status)).toEqual([503, 400])
    expect(shown.body.request).toMatchObject({ method: 'POST', url: `${receiver.url}/hook` })
    expect(receiver.requests[1]!.headers['x-hookbridge-delivery-id']).toBe(id)

    expect((await api(bridge, PUBLISHER)('GET', '/v1/dlq')).status).toBe(403)

    receiver.respond(undefined) // 200 from now on
    expect(await call('POST', `/v1/dlq/${encodeURIComponent(id)}/replay`)).toEqual({
      status: 200,
      body: { replayed: 1 },
    })
    await waitFor(() => receiver.requests.length === 3, { what: 'the replayed delivery' })
    const replayed = receiver.requests[2]!
    expect(replayed.headers['x-hookbridge-delivery-id']).toBe(id)
    expect(replayed.body.equals(BYTES)).toBe(true)
    await waitFor(() => bridge.bridge.spool.stats(Date.now()).depth === 0, { what: 'the job completed' })
    expect(bridge.bridge.spool.listDeadLetters()).toEqual([])
  })

  it('purges: one by id, then all with an explicit all: true', async () => {
    const bridge = await startBridge()
    receiver.respond(() => ({ status: 400 }))
    const first = await deadLetter(bridge)
    await deadLetter(bridge, 'plant/line-2/press')
    const call = api(bridge)
    expect((await call('POST', '/v1/dlq/purge', {})).status).toBe(400)
    expect(await call('DELETE', `/v1/dlq/${encodeURIComponent(first)}`)).toEqual({ status: 200, body: { purged: 1 } })
    expect((await call('GET', `/v1/dlq/${encodeURIComponent(first)}`)).body.error.code).toBe(
      'HOOKBRIDGE_DEAD_LETTER_NOT_FOUND',
    )
    expect((await call('POST', '/v1/dlq/purge', { all: true })).body).toEqual({ purged: 1 })
    expect(bridge.bridge.spool.listDeadLetters()).toEqual([])
  })
})

describe('hookbridge dlq (the built CLI)', () => {
  it('uses the running instance: list, show, replay (delivered at once), purge', async () => {
    const bridge = await startBridge()
    receiver.respond(() => ({ status: 400 }))
    const id = await deadLetter(bridge)
    const other = await deadLetter(bridge, 'plant/line-2/press')
    const url = `http://127.0.0.1:${bridge.bridge.httpPort}`
    const env = { HOOKBRIDGE_TOKEN: ADMIN, HOOKBRIDGE_DATA_DIR: dataDir }

    const list = await runCli(['dlq', 'list', '--url', url], env)
    expect(list.code, list.stderr).toBe(0)
    expect(list.stderr).toContain(`using the running hookbridge at ${url}`)
    expect(list.stdout).toMatch(/^ID +RULE +TOPIC +TRIES +LAST +DEAD AT$/m)
    expect(list.stdout).toContain(`${id}  raw`)
    expect(list.stdout).toMatch(/plant\/line-1\/press +1 +HTTP 400 /)
    expect(list.stdout).toMatch(/^2 dead letters$/m)

    const show = await runCli(['dlq', 'show', id, '--url', url, '--json'], env)
    expect(Buffer.from(JSON.parse(show.stdout).message.payloadBase64, 'base64').equals(BYTES)).toBe(true)
    const text = await runCli(['dlq', 'show', id, '--url', url], env)
    expect(text.stdout).toContain(`payload (6 bytes, base64):\n${BYTES.toString('base64')}`)

    const denied = await runCli(['dlq', 'list', '--url', url], { HOOKBRIDGE_TOKEN: PUBLISHER })
    expect(denied.code).toBe(1)
    expect(denied.stderr).toContain('hookbridge: HOOKBRIDGE_DLQ_FORBIDDEN: Token "sensors"')

    receiver.respond(undefined)
    const before = receiver.requests.length
    const replay = await runCli(['dlq', 'replay', id, 'nope', '--url', url], env)
    expect(replay.code).toBe(1)
    expect(replay.stdout).toBe('replayed 1 dead letter\n')
    expect(replay.stderr).toContain('HOOKBRIDGE_DEAD_LETTER_NOT_FOUND: No dead letter with id "nope"')
    await waitFor(() => receiver.requests.length > before, { what: 'the replayed delivery' })
    expect(receiver.requests[before]!.headers['x-hookbridge-delivery-id']).toBe(id)

    const purge = await runCli(['dlq', 'purge', '--rule', 'raw', '--url', url, '--json'], env)
    expect(purge.code, purge.stderr).toBe(0)
    expect(JSON.parse(purge.stdout)).toEqual({ purged: 1 })
    expect(bridge.bridge.spool.getDeadLetter(other)).toBeUndefined()
  })

  it('opens the spool file when no instance runs; a replay there is delivered at the next start', async () => {
    let bridge = await startBridge()
    receiver.respond(() => ({ status: 400 }))
    const id = await deadLetter(bridge)
    await deadLetter(bridge, 'plant/line-2/press')
    await bridge.bridge.stop()
    const port = String(await freePort()) // nothing listens there
    const env = { HOOKBRIDGE_DATA_DIR: dataDir, HOOKBRIDGE_HTTP_PORT: port }

    const list = await runCli(['dlq', 'list', '--json'], env)
    expect(list.code, list.stderr).toBe(0)
    expect(list.stderr).toContain(`nothing listens at http://127.0.0.1:${port}: using the spool file`)
    expect(JSON.parse(list.stdout).items.map((d: { id: string }) => d.id)).toContain(id)

    const missing = await runCli(['dlq', 'show', 'nope'], env)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('HOOKBRIDGE_DEAD_LETTER_NOT_FOUND')

    const replay = await runCli(['dlq', 'replay', id], env)
    expect(replay.code, replay.stderr).toBe(0)
    expect(replay.stderr).toContain('delivered when hookbridge next starts')
    const purge = await runCli(['dlq', 'purge', '--all'], env)
    expect(purge.stdout).toBe('purged 1 dead letter\n')

    receiver.respond(undefined)
    const before = receiver.requests.length
    await hb!.close() // removes only its rules directory: dataDir is ours
    hb = undefined
    bridge = await startBridge()
    await waitFor(() => receiver.requests.length > before, { what: 'the replayed delivery after the restart' })
    expect(receiver.requests[before]!.headers['x-hookbridge-delivery-id']).toBe(id)
    expect(receiver.requests[before]!.body.equals(BYTES)).toBe(true)
    expect(bridge.bridge.spool.listDeadLetters()).toEqual([])
  })

  it('says how to use it: exit 64 on a usage error, 1 when there is no spool to open', async () => {
    const env = { HOOKBRIDGE_DATA_DIR: join(dataDir, 'empty'), HOOKBRIDGE_HTTP_PORT: String(await freePort()) }
    for (const args of [['dlq'], ['dlq', 'replay'], ['dlq', 'purge', 'a', '--all'], ['dlq', 'show', '--all', 'a']]) {
      const result = await runCli(args, env)
      expect(result.code, args.join(' ')).toBe(64)
      expect(result.stderr).toContain('HOOKBRIDGE_CLI_USAGE')
    }
    const none = await runCli(['dlq', 'list'], env)
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/HOOKBRIDGE_DLQ_NO_SPOOL: Nothing listens at .*spool\.db does not exist/)
  })
})
