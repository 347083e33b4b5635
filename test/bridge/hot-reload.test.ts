// Hot reload against a real broker: rule files change under a running bridge.
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { startTestBridge, type TestBridge } from '../helpers/bridge.js'
import { startMosquitto, type TestMosquitto } from '../helpers/mosquitto.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

describe('hot reload', () => {
  let broker: TestMosquitto
  let receiver: TestReceiver
  let hb: TestBridge
  let device: MqttClient

  beforeEach(async () => {
    broker = await startMosquitto()
    receiver = await startReceiver()
    hb = await startTestBridge({
      mqttUrl: broker.url,
      rules: { a: { from: { topic: 'a/#' }, to: { url: `${receiver.url}/a` } } },
    })
    await waitFor(() => hb.bridge.readiness().ready, { what: 'ready' })
    device = await mqtt.connectAsync(broker.url, { protocolVersion: 5 })
  })
  afterEach(async () => {
    await device.endAsync()
    await hb.close()
    await receiver.close()
    await broker.close()
  })

  const writeRule = (name: string, rule: unknown) => writeFileSync(join(hb.rulesDir, `${name}.yaml`), stringify(rule))
  const reloaded = async (version: number) =>
    waitFor(() => hb.bridge.reloader.state.version > version || hb.bridge.reloader.state.failedReloads > 0, {
      what: 'a reload',
    })
  const delivered = async (topic: string, path: string) => {
    const before = receiver.requests.length
    await device.publishAsync(topic, topic, { qos: 1 })
    await waitFor(() => receiver.requests.slice(before).find((r) => r.body.toString() === topic), {
      what: `${topic} delivered`,
    })
    expect(receiver.requests.slice(before).find((r) => r.body.toString() === topic)!.path).toBe(path)
  }

  it('applies added, changed and removed rule files while running, subscribing and unsubscribing', async () => {
    await delivered('a/1', '/a')
    let version = hb.bridge.reloader.state.version
    writeRule('b', { from: { topic: 'b/#' }, to: { url: `${receiver.url}/b` } })
    writeRule('a', { from: { topic: 'a/#' }, to: { url: `${receiver.url}/a2` } })
    await reloaded(version)
    await waitFor(() => hb.bridge.rules().get('b') && hb.bridge.rules().get('a')?.definition, { what: 'both rules' })
    await waitFor(() => hb.bridge.readiness().ready, { what: 'subscriptions settled' })
    await delivered('b/1', '/b')
    await delivered('a/2', '/a2')

    version = hb.bridge.reloader.state.version
    rmSync(join(hb.rulesDir, 'b.yaml'))
    await reloaded(version)
    await waitFor(() => !hb.bridge.subscriptions.wanted().has('b/#'), { what: 'b/# unsubscribed' })
    await device.publishAsync('b/2', 'b/2', { qos: 1 })
    await delivered('a/3', '/a2') // published after b/2: once it is here, b/2 would have been too
    expect(receiver.requests.some((r) => r.body.toString() === 'b/2')).toBe(false)
  })

  it('keeps the previous rules running when a changed file is invalid, and says where in /readyz', async () => {
    writeFileSync(join(hb.rulesDir, 'a.yaml'), 'from:\n  topic: a/#\nto:\n  url: http://x/y\nwhen: "payload >"\n')
    const api = `http://127.0.0.1:${hb.bridge.httpPort}/v1/rules`
    const refused = await fetch(`${api}/reload`, { method: 'POST' })
    expect(refused.status).toBe(422)
    expect((await refused.json()).error).toMatchObject({
      code: 'HOOKBRIDGE_RULES_RELOAD_FAILED',
      message: expect.stringMatching(/previous ones keep running.*a\.yaml:5:\d+: when: invalid JSONata/),
    })
    const result = await hb.bridge.reloader.reload('test')
    expect(result.ok).toBe(false)
    expect(result.issues[0]).toMatchObject({ field: 'when', line: 5 })
    const listed = await (await fetch(api)).json()
    expect(listed.rules.map((r: { name: string }) => r.name)).toEqual(['a'])
    expect(listed.rules[0].counters).toMatchObject({ received: 0 })
    expect(listed.lastReloadErrors[0]).toMatch(/a\.yaml:5:\d+: when: invalid JSONata/)
    const readiness = hb.bridge.readiness()
    expect(readiness.checks.rules!.detail).toMatch(/the last reload failed: .*a\.yaml:5:\d+: when: invalid JSONata/)
    await delivered('a/4', '/a')
    // Fixing the file recovers.
    writeRule('a', { from: { topic: 'a/#' }, to: { url: `${receiver.url}/fixed` } })
    const applied = await fetch(`${api}/reload`, { method: 'POST' })
    expect(applied.status).toBe(200)
    expect(await applied.json()).toMatchObject({ ok: true, rules: 1, changed: ['a'] })
    expect((await (await fetch(api)).json()).rules[0].counters.received).toBe(1)
    expect(hb.bridge.readiness().checks.rules!.detail).not.toMatch(/failed/)
    await delivered('a/5', '/fixed')
  })
})
