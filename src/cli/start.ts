// `hookbridge start`: run until SIGINT or SIGTERM, then stop in order (intake first) and exit 0.
import type { Config } from '../config/schema.js'
import { startBridge } from '../main.js'
import { paceHeapByDeliveries } from '../observability/heap-pacing.js'
import { createLogger } from '../observability/logger.js'

export async function runStart(config: Readonly<Config>): Promise<number> {
  const logger = createLogger({ level: config.logLevel })
  const bridge = await startBridge({ config, logger })
  const heap = heapPacingFlag(process.execArgv)
    ? paceHeapByDeliveries(bridge.spool, { percent: HEAP_GROWING_PERCENT })
    : undefined
  logger.info('hookbridge is running (Ctrl-C to stop)')
  const onHangup = () => {
    bridge.reloader.reload('SIGHUP').catch((err: unknown) => logger.error({ err }, 'rule reload failed'))
  }
  process.on('SIGHUP', onHangup)
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  logger.info({ signal }, 'stopping')
  process.off('SIGHUP', onHangup)
  heap?.stop()
  // A second signal while stopping means: now.
  const force = () => process.exit(1)
  process.once('SIGINT', force)
  process.once('SIGTERM', force)
  await bridge.stop()
  logger.info('stopped')
  logger.flush?.()
  return 0
}

/**
 * How far V8's old space may grow past what survived the last full collection, in percent, while jobs wait for a
 * retry (observability/heap-pacing.ts). V8's own pacing allows up to 4x: while a backlog comes in, message objects
 * still in process at a scavenge are promoted at several MB/s, and old space swelled to ~170 MB around ~45 MB of
 * live data (1,000,000 messages backlogged: peak RSS 307-314 MB; with 30: 186-192 MB, at 58-59 instead of 44-53 ms
 * CPU per 1k messages: full collections come more often). While deliveries succeed V8 paces itself: with 30 all the
 * time a 50,000-message burst cost ~25 % more CPU (156 -> 193 ms per 1k). Not a ceiling: the heap still grows to
 * whatever is live, so large payloads do not make the process fail.
 */
export const HEAP_GROWING_PERCENT = 30

/**
 * The V8 flag set while jobs wait for a retry, unless node's command line sets heap growth already
 * (`node --heap-growing-percent=0 dist/cli/main.js start`: V8's own pacing; NODE_OPTIONS refuses this flag).
 */
export function heapPacingFlag(execArgv: readonly string[]): string | undefined {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return undefined
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`
}
