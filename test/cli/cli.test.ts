// The CLI as a user runs it: the built binary as a child process.
import { once } from 'node:events'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CliProcess, runCli, spawnCli } from '../helpers/cli.js'
import { freePort } from '../helpers/ports.js'
import { startReceiver, type TestReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

const exampleRules = new URL('../../rules/', import.meta.url).pathname
let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookbridge-cli-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('hookbridge --help / --version', () => {
  it('prints the version and the usage', async () => {
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version
    expect((await runCli(['--version'])).stdout.trim()).toBe(version)
    const help = await runCli(['--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/hookbridge validate \[dir\]/)
    expect(help.stdout).toMatch(/--http-port <value>.*HOOKBRIDGE_HTTP_PORT/)
  })

  it('rejects an unknown command or flag with usage exit code 64', async () => {
    const unknown = await runCli(['frobnicate'])
    expect(unknown.code).toBe(64)
    expect(unknown.stderr).toMatch(/HOOKBRIDGE_CLI_USAGE: unknown command "frobnicate"\. Run `hookbridge --help`/)
    expect((await runCli(['--nope'])).code).toBe(64)
  })
})

describe('hookbridge validate', () => {
  it('accepts the example rules', async () => {
    const result = await runCli(['validate', exampleRules])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/2 rules OK \(door-events, hot-readings\)/)
  })

  it('lists every problem with file, line and field, and exits 1', async () => {
    writeFileSync(join(dir, 'a.yaml'), 'from:\n  topic: a/#/b\nto:\n  url: http://h/x\n')
    writeFileSync(join(dir, 'b.yaml'), 'from: { topic: b }\nto: { url: "http://h/x" }\ncolour: red\n')
    writeFileSync(join(dir, 'c.yaml'), 'from: { topic: c }\nto: { url: "http://h/x" }\nwhen: "payload.x >"\n')
    const result = await runCli(['validate', dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/3 problems in /)
    expect(result.stderr).toMatch(/a\.yaml:2:\d+: from\.topic: /)
    expect(result.stderr).toMatch(/b\.yaml:3:\d+: colour: unknown key "colour"/)
    expect(result.stderr).toMatch(/c\.yaml:3:\d+: when: invalid JSONata/)
  })

  it('says what to do about a missing directory', async () => {
    const result = await runCli(['validate', join(dir, 'nope')])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/HOOKBRIDGE_RULES_DIR_MISSING: Rules directory .* does not exist/)
  })
})

describe('hookbridge start', () => {
  let receiver: TestReceiver | undefined
  let child: CliProcess | undefined
  afterEach(async () => {
    if (child && child.process.exitCode === null) {
      child.process.kill('SIGKILL')
      await once(child.process, 'exit')
    }
    child = undefined
    await receiver?.close()
    receiver = undefined
  })

  it('runs the example rules on the embedded broker: a device publishes, the webhook receives, SIGTERM stops it', async () => {
    receiver = await startReceiver()
    // The example rules, pointed at this test's receiver instead of port 9000.
    const rules = join(dir, 'rules')
    cpSync(exampleRules, rules, { recursive: true })
    for (const file of readdirSync(rules)) {
      const path = join(rules, file)
      writeFileSync(path, readFileSync(path, 'utf8').replaceAll('http://127.0.0.1:9000', receiver.url))
    }
    const brokerPort = await freePort()
    const httpPort = await freePort()
    child = spawnCli(['start'], {
      HOOKBRIDGE_BROKER_PORT: String(brokerPort),
      HOOKBRIDGE_HTTP_PORT: String(httpPort),
      HOOKBRIDGE_RULES: rules,
      HOOKBRIDGE_DATA_DIR: join(dir, 'data'),
    })
    await waitFor(
      async () => {
        if (child!.process.exitCode !== null) throw new Error(`exited: ${child!.stderr()}${child!.stdout()}`)
        const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined)
        return res?.status === 200
      },
      { what: 'hookbridge ready', timeoutMs: 30_000, intervalMs: 100 },
    )
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { protocolVersion: 4 })
    await device.publishAsync('sensors/kitchen/temperature', JSON.stringify({ celsius: 31.5 }), { qos: 1 })
    await device.publishAsync('sensors/kitchen/temperature', JSON.stringify({ celsius: 12 }), { qos: 1 })
    await device.publishAsync('doors/front/opened', 'raw bytes', { qos: 1 })
    await device.endAsync()
    await waitFor(() => receiver!.requests.length === 2, { what: 'two webhooks' })
    const alert = receiver.requests.find((r) => r.path === '/alerts/kitchen')!
    expect(alert.method).toBe('POST')
    const body = JSON.parse(alert.body.toString())
    expect(body).toMatchObject({ device: 'kitchen', celsius: 31.5 })
    expect(Number.isNaN(Date.parse(body.at))).toBe(false)
    const door = receiver.requests.find((r) => r.path === '/doors')!
    expect(door.body.toString()).toBe('raw bytes')
    expect(door.headers['x-hookbridge-topic']).toBe('doors/front/opened')

    child.process.kill('SIGTERM')
    const [code] = await once(child.process, 'exit')
    expect(code).toBe(0)
  })

  it('refuses to start with an invalid rule and says why', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'from: { topic: a }\nto: { url: "ftp://h/x" }\n')
    const result = await runCli([
      'start',
      '--rules',
      dir,
      '--broker-port',
      String(await freePort()),
      '--http-port',
      '0',
    ])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /HOOKBRIDGE_RULE_INVALID: 1 problem in .*bad\.yaml:2:\d+: to\.url: expected an http:\/\/ or https:\/\/ URL/s,
    )
  })

  it('names the setting to change when the broker port is taken', async () => {
    const blocker = createServer().listen(0, '127.0.0.1')
    await once(blocker, 'listening')
    const port = (blocker.address() as { port: number }).port
    try {
      const result = await runCli(['start', '--rules', exampleRules, '--http-port', '0'], {
        HOOKBRIDGE_BROKER_PORT: String(port),
        HOOKBRIDGE_DATA_DIR: join(dir, 'data'),
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(
        new RegExp(`HOOKBRIDGE_BROKER_PORT_IN_USE: .*port ${port}.*Set HOOKBRIDGE_BROKER_PORT to a free port`),
      )
    } finally {
      blocker.close()
    }
  })
})
