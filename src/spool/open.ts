// The spool a configuration asks for: SQLite in the data directory (durable), or memory.
import { mkdirSync } from 'node:fs'
import type { Config } from '../config/schema.js'
import type { Logger } from '../observability/logger.js'
import { createMemorySpool } from './memory-spool.js'
import type { Spool } from './spool.js'
import { spoolFile } from './spool-file.js'
import { createSqliteSpool } from './sqlite-spool.js'

export function openSpool(config: Pick<Config, 'spool' | 'dataDir'>, logger: Logger): Spool {
  if (config.spool.mode === 'memory') {
    logger.warn('spool.mode is memory: messages not yet delivered are lost if hookbridge stops or crashes')
    return createMemorySpool()
  }
  mkdirSync(config.dataDir, { recursive: true })
  const spool = createSqliteSpool({
    file: spoolFile(config),
    groupCommitMs: config.spool.groupCommitMs,
    deferWriteMs: config.spool.deferWriteMs,
    windowJobs: config.spool.windowJobs,
    windowBytes: config.spool.windowBytes,
  })
  const stats = spool.stats(Date.now())
  logger.info({ file: spoolFile(config), pending: stats.depth, deadLetters: stats.deadLetters }, 'durable spool open')
  return spool
}
