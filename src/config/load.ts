// Settings from the environment, then an optional YAML config file, then flags (lowest to highest),
// validated by one zod schema; every problem is reported at once, with where it came from.
import { readFileSync } from 'node:fs'
import { HookbridgeError } from '../errors.js'
import { resolveEnvRefsDeep } from './env-refs.js'
import { type Config, configSchema } from './schema.js'
import { configFileEnv, settings } from './settings.js'
import { formatIssue, parseSourceFile, type SourceIssue } from './source-file.js'
import { zodIssuesToSourceIssues } from './zod-issues.js'

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv
  /** Flag values by flag name (e.g. `--http-port`), already split by the CLI. */
  flags?: Record<string, string>
  /** Path of the config file; defaults to HOOKBRIDGE_CONFIG. */
  configFile?: string
}

export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env
  const merged: Record<string, unknown> = {}
  const origins = new Map<string, string>()

  for (const setting of settings) {
    const value = env[setting.env]
    if (value !== undefined && value !== '') {
      setPath(merged, setting.path, value)
      origins.set(setting.path, setting.env)
    }
  }

  const issues: SourceIssue[] = []
  const configFile = options.configFile ?? env[configFileEnv]
  if (configFile) {
    const fromFile = readConfigFile(configFile, env, issues)
    if (fromFile) deepMerge(merged, fromFile)
  }

  for (const setting of settings) {
    const value = setting.flag ? options.flags?.[setting.flag] : undefined
    if (value !== undefined) {
      setPath(merged, setting.path, value)
      origins.set(setting.path, setting.flag!)
    }
  }
  if (issues.length > 0) throw invalid(issues)

  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) {
    const located = zodIssuesToSourceIssues({ file: configFile ?? 'settings', locate: () => undefined }, parsed.error)
    // Name the environment variable or flag a bad value came from, when it did not come from the file.
    for (const issue of located) {
      const origin = origins.get(issue.field)
      if (origin) issue.file = origin
    }
    throw invalid(located)
  }
  return deepFreeze(parsed.data)
}

function readConfigFile(
  file: string,
  env: NodeJS.ProcessEnv,
  issues: SourceIssue[],
): Record<string, unknown> | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new HookbridgeError('HOOKBRIDGE_CONFIG_FILE_UNREADABLE', { file, detail: (err as Error).message })
  }
  const source = parseSourceFile(file, text)
  if (source.issues.length > 0) {
    issues.push(...source.issues)
    return undefined
  }
  if (source.value === null || source.value === undefined) return {}
  if (typeof source.value !== 'object' || Array.isArray(source.value)) {
    issues.push({ file, field: '', message: 'expected a mapping of settings (mqtt:, api:, rules: ...)' })
    return undefined
  }
  const resolved = resolveEnvRefsDeep(source.value, env, ({ name, path }) => {
    const pos = source.locate(path)
    issues.push({
      file,
      field: path.join('.'),
      line: pos?.line,
      message: `refers to \${env:${name}}, but ${name} is not set: set it or remove the reference`,
    })
  })
  // Config-file errors should point into the file.
  const checked = configSchema.safeParse(deepMerge({}, resolved as Record<string, unknown>))
  if (!checked.success) {
    issues.push(...zodIssuesToSourceIssues(source, checked.error))
  }
  return resolved as Record<string, unknown>
}

function invalid(issues: SourceIssue[]): HookbridgeError {
  const detail = `\n${issues.map((issue) => `  - ${formatIssue(issue)}`).join('\n')}`
  return new HookbridgeError('HOOKBRIDGE_CONFIG_INVALID', { detail, issues })
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  node[keys[keys.length - 1]!] = value
}

function deepMerge(target: Record<string, unknown>, source: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key]
    if (isPlainObject(value) && isPlainObject(existing)) deepMerge(existing, value)
    else target[key] = isPlainObject(value) ? deepMerge({}, value) : value
  }
  return target
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const item of Object.values(value)) deepFreeze(item)
  }
  return value
}
