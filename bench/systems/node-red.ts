// Node-RED 4 with the equivalent flow: `mqtt in` -> `change` (the same JSONata expression) -> `http request`.
// Installed by the bench on demand into bench/.node-red (gitignored), never a dependency of hookbridge. When the
// install fails the bench reports Node-RED as skipped, with the reason, and goes on.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { nodeRedPrefix } from '../lib/paths.js'
import { freePort, spawnLogged, stopProcess } from '../lib/procs.js'
import { EXPRESSION, SUBSCRIPTION } from '../lib/workload.js'
import type { RunningSystem, StartContext, SystemDefinition } from './system.js'

const redJs = join(nodeRedPrefix, 'node_modules/node-red/red.js')

function install(): string | undefined {
  if (existsSync(redJs)) return undefined
  if (process.env.BENCH_NO_INSTALL) return 'not installed, and BENCH_NO_INSTALL is set'
  const busy = spawnSync('pgrep', ['-f', 'npm (install|ci)'], { encoding: 'utf8' })
  if (busy.stdout.trim() !== '') return 'another npm install is running: run the bench again once it has finished'
  mkdirSync(nodeRedPrefix, { recursive: true })
  process.stdout.write('installing node-red@4 into bench/.node-red (once) ...\n')
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', nodeRedPrefix, 'node-red@4'], {
    encoding: 'utf8',
    timeout: 600_000,
  })
  if (result.status !== 0 || !existsSync(redJs)) {
    const why = (result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' ')
    return `npm install node-red@4 failed: ${why || `exit ${result.status}`}`
  }
  return undefined
}

function flows(brokerUrl: string, targetUrl: string): unknown[] {
  const broker = new URL(brokerUrl)
  return [
    { id: 'bench-tab', type: 'tab', label: 'bench' },
    {
      id: 'bench-broker',
      type: 'mqtt-broker',
      name: 'bench',
      broker: broker.hostname,
      port: broker.port,
      clientid: `node-red-bench-${process.pid}-${Date.now()}`,
      autoConnect: true,
      usetls: false,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
      autoUnsubscribe: true,
    },
    {
      id: 'bench-in',
      type: 'mqtt in',
      z: 'bench-tab',
      topic: SUBSCRIPTION,
      qos: '1',
      datatype: 'json',
      broker: 'bench-broker',
      nl: false,
      rap: true,
      rh: 0,
      inputs: 0,
      wires: [['bench-change']],
    },
    {
      id: 'bench-change',
      type: 'change',
      z: 'bench-tab',
      rules: [{ t: 'set', p: 'payload', pt: 'msg', to: EXPRESSION, tot: 'jsonata' }],
      wires: [['bench-http']],
    },
    {
      id: 'bench-http',
      type: 'http request',
      z: 'bench-tab',
      method: 'POST',
      ret: 'txt',
      paytoqs: 'ignore',
      url: targetUrl,
      // "Enable connection keep-alive": the fastest setting the node offers.
      persist: true,
      senderr: false,
      headers: [],
      wires: [[]],
    },
  ]
}

async function startNodeRed(context: StartContext): Promise<RunningSystem> {
  mkdirSync(context.dir, { recursive: true })
  const uiPort = await freePort()
  writeFileSync(join(context.dir, 'flows.json'), JSON.stringify(flows(context.brokerUrl, context.targetUrl), null, 2))
  // .cjs: the repository's package.json says "type": "module", and Node-RED require()s its settings.
  const settingsFile = join(context.dir, 'settings.cjs')
  const settings = {
    uiPort,
    uiHost: '127.0.0.1',
    flowFile: 'flows.json',
    userDir: context.dir,
    httpAdminRoot: false,
    httpNodeRoot: false,
    credentialSecret: false,
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    editorTheme: { projects: { enabled: false } },
  }
  writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)}\n`)
  const child = spawnLogged(
    process.execPath,
    [...(context.execArgv ?? []), redJs, '--settings', settingsFile, '--userDir', context.dir],
    { logFile: join(context.dir, 'node-red.log'), cwd: context.dir },
  )
  return { pid: child.pid!, stop: () => stopProcess(child) }
}

export const nodeRed: SystemDefinition = {
  id: 'node-red',
  label: 'Node-RED 4 (mqtt in -> change -> http request)',
  start: startNodeRed,
  unavailable: async () => install(),
}
