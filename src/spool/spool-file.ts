import { join } from 'node:path'
import type { Config } from '../config/schema.js'

/** Where the durable spool of a configuration lives. */
export function spoolFile(config: Pick<Config, 'dataDir'>): string {
  return join(config.dataDir, 'spool.db')
}
