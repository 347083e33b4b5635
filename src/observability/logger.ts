// pino, readable on a terminal and JSON otherwise, with secrets redacted wherever they may appear.
import pino, { type Logger } from 'pino'

export type { Logger }

export const redactPaths = [
  'authorization',
  'headers.authorization',
  'headers.Authorization',
  'request.headers.authorization',
  'req.headers.authorization',
  '*.password',
  'password',
  '*.token',
  'token',
  '*.secret',
  'secret',
  '*.secrets',
  'mqtt.password',
  'api.tokens[*].token',
]

export interface LoggerOptions {
  level?: string
  /** Pretty output; defaults to whether stdout is a terminal. */
  pretty?: boolean
  /** Write here instead of stdout (tests). */
  destination?: pino.DestinationStream
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && !options.destination)
  const base: pino.LoggerOptions = {
    name: 'hookbridge',
    level: options.level ?? 'info',
    redact: { paths: redactPaths, censor: '[redacted]' },
  }
  if (options.destination) return pino(base, options.destination)
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,name' },
      },
    })
  }
  return pino(base)
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
