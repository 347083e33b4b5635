import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadConfig } from './load.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookbridge-config-test-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('configuration', () => {
  it('has working defaults and freezes the result', () => {
    const config = loadConfig({ env: {} })
    expect(config.mqtt.url).toBeUndefined()
    expect(config.broker.port).toBe(1883)
    expect(config.api.port).toBe(8080)
    expect(config.api.host).toBe('127.0.0.1')
    expect(config.rules).toBe('./rules')
    expect(config.dataDir).toBe('./data')
    expect(config.mqtt.protocolVersion).toBe(5)
    expect(Object.isFrozen(config.mqtt)).toBe(true)
  })

  it('takes the environment, then the config file, then flags (lowest to highest)', () => {
    const file = join(dir, 'hookbridge.yaml')
    writeFileSync(file, 'api:\n  port: 9001\nrules: ./from-file\n')
    const env = {
      HOOKBRIDGE_HTTP_PORT: '9000',
      HOOKBRIDGE_RULES: './from-env',
      HOOKBRIDGE_LOG_LEVEL: 'debug',
      HOOKBRIDGE_CONFIG: file,
    }
    const config = loadConfig({ env, flags: { '--rules': './from-flag' } })
    expect(config.api.port).toBe(9001)
    expect(config.rules).toBe('./from-flag')
    expect(config.logLevel).toBe('debug')
  })

  it('names the environment variable a bad value came from', () => {
    expect(() => loadConfig({ env: { HOOKBRIDGE_BROKER_PORT: 'abc' } })).toThrow(
      /HOOKBRIDGE_BROKER_PORT: broker\.port: expected number/,
    )
    expect(() => loadConfig({ env: { HOOKBRIDGE_LOG_LEVEL: 'loud' } })).toThrow(
      /HOOKBRIDGE_LOG_LEVEL: logLevel: expected one of/,
    )
  })

  it('sizes the durable spool window from HOOKBRIDGE_SPOOL_WINDOW_JOBS, and refuses a window too small to work', () => {
    expect(loadConfig({ env: {} }).spool.windowJobs).toBe(50_000)
    expect(loadConfig({ env: { HOOKBRIDGE_SPOOL_WINDOW_JOBS: '20000' } }).spool.windowJobs).toBe(20_000)
    expect(() => loadConfig({ env: { HOOKBRIDGE_SPOOL_WINDOW_JOBS: '3' } })).toThrow(
      /HOOKBRIDGE_SPOOL_WINDOW_JOBS: spool\.windowJobs/,
    )
  })

  it('points at the line of a bad key in the config file and resolves ${env:NAME} there', () => {
    const file = join(dir, 'c.yaml')
    writeFileSync(file, 'mqtt:\n  url: mqtt://broker:1883\n  pasword: x\n')
    expect(() => loadConfig({ env: {}, configFile: file })).toThrow(
      /c\.yaml:3:\d+: mqtt\.pasword: unknown key "pasword"/,
    )
    writeFileSync(file, 'mqtt:\n  password: ${env:BROKER_PASSWORD}\n')
    expect(loadConfig({ env: { BROKER_PASSWORD: 'pw' }, configFile: file }).mqtt.password).toBe('pw')
    expect(() => loadConfig({ env: {}, configFile: file })).toThrow(
      /c\.yaml:2: mqtt\.password: refers to \$\{env:BROKER_PASSWORD\}, but BROKER_PASSWORD is not set/,
    )
  })

  it('says which config file it cannot read', () => {
    expect(() => loadConfig({ env: {}, configFile: join(dir, 'missing.yaml') })).toThrow(
      /Cannot read config file .*missing\.yaml/,
    )
  })
})
