// hookbridge in-process for integration tests: rules written to a temp dir, the HTTP API on a free port.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { configSchema } from '../../src/config/schema.js'
import { type Bridge, type BridgeOptions, startBridge } from '../../src/main.js'
import { silentLogger } from '../../src/observability/logger.js'

export interface TestBridgeOptions {
  mqttUrl?: string
  rules: Record<string, unknown>
  protocolVersion?: 4 | 5
  config?: Record<string, unknown>
  env?: NodeJS.ProcessEnv
  onAttempt?: BridgeOptions['onAttempt']
}

export interface TestBridge {
  bridge: Bridge
  rulesDir: string
  close(): Promise<void>
}

let counter = 0

export async function startTestBridge(options: TestBridgeOptions): Promise<TestBridge> {
  const rulesDir = mkdtempSync(join(tmpdir(), 'hookbridge-rules-'))
  for (const [name, rule] of Object.entries(options.rules))
    writeFileSync(join(rulesDir, `${name}.yaml`), stringify(rule))
  const config = configSchema.parse({
    rules: rulesDir,
    dataDir: join(rulesDir, 'data'),
    mqtt: {
      url: options.mqttUrl,
      protocolVersion: options.protocolVersion ?? 5,
      clientId: `hookbridge-test-${process.pid}-${++counter}`,
      reconnectMinMs: 50,
      reconnectMaxMs: 500,
    },
    broker: { port: 0 },
    api: { port: 0 },
    ...options.config,
  })
  const bridge = await startBridge({
    config,
    logger: silentLogger(),
    env: options.env ?? {},
    onAttempt: options.onAttempt,
  })
  return {
    bridge,
    rulesDir,
    async close() {
      await bridge.stop()
      rmSync(rulesDir, { recursive: true, force: true })
    },
  }
}
