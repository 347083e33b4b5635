// `hookbridge start`: run until SIGINT or SIGTERM, then stop in order (intake first) and exit 0.
import type { Config } from '../config/schema.js'
import { startBridge } from '../main.js'
import { createLogger } from '../observability/logger.js'

export async function runStart(config: Readonly<Config>): Promise<number> {
  const logger = createLogger({ level: config.logLevel })
  const bridge = await startBridge({ config, logger })
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
  // A second signal while stopping means: now.
  const force = () => process.exit(1)
  process.once('SIGINT', force)
  process.once('SIGTERM', force)
  await bridge.stop()
  logger.info('stopped')
  logger.flush?.()
  return 0
}
