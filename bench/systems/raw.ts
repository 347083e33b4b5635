// The raw pipe with the bench transform, and without any (the ceiling): systems/raw-pipe.ts forked with settings.
import { join } from 'node:path'
import { forkActor } from '../lib/procs.js'
import type { RunningSystem, StartContext, SystemDefinition } from './system.js'

async function startRawPipe(context: StartContext, transform: 'jsonata' | 'none'): Promise<RunningSystem> {
  const actor = await forkActor(join(import.meta.dirname, 'raw-pipe.js'), {
    env: { BENCH_BROKER_URL: context.brokerUrl, BENCH_TARGET_URL: context.targetUrl, RAW_TRANSFORM: transform },
    execArgv: context.execArgv,
    logFile: join(context.dir, 'raw-pipe.log'),
  })
  return { pid: actor.child.pid!, stop: actor.stop, diagnostics: () => actor.channel.call('stats', undefined, 5_000) }
}

export const rawPipe: SystemDefinition = {
  id: 'raw-pipe',
  label: 'raw pipe (MQTT.js + JSONata + undici)',
  start: (context) => startRawPipe(context, 'jsonata'),
}

export const rawCeiling: SystemDefinition = {
  id: 'raw-ceiling',
  label: 'raw pipe, no transform (ceiling)',
  start: (context) => startRawPipe(context, 'none'),
}
