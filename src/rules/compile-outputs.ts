// Compiles what output-schema.ts defines: signing keys, CloudEvents templates, replies and MQTT targets. As in
// compile.ts, everything that can fail fails here, at load; a static topic that loops back into the rule, too.
import { resolveEnvRefs } from '../config/env-refs.js'
import { signingKey } from '../delivery/sign.js'
import { isHookbridgeError } from '../errors.js'
import { extractParams, type ParsedFilter, validateTopic } from '../topics/filter.js'
import { type CompiledExpression, compileExpression } from '../transform/jsonata.js'
import { compileTemplate, type Template } from '../transform/template.js'
import type { CompileIssue, CompileOptions } from './compile.js'
import type { MqttTargetDefinition, ReplyDefinition } from './output-schema.js'
import type { HttpTargetDefinition } from './schema.js'

type Path = (string | number)[]

export interface CompiledCloudEvents {
  mode: 'binary' | 'structured'
  type: Template
  source: Template
}

export interface CompiledReply {
  /** Undefined: the MQTT 5 response topic of the message. */
  topic?: Template
  qos: 0 | 1 | 2
  retain: boolean
  transform?: CompiledExpression
  onStatus: 'success' | 'any'
}

export interface CompiledMqttTarget {
  kind: 'mqtt'
  name: string
  method: 'MQTT'
  topic: Template
  /** The topic template again: what the spool's `url` holds for an MQTT job (see delivery/mqtt-target.ts). */
  url: Template
  headers: ReadonlyArray<readonly [string, Template]>
  timeoutMs: undefined
  allowedHosts: undefined
  qos: 0 | 1 | 2
  retain: boolean
  contentType?: Template
  userProperties: ReadonlyArray<readonly [string, Template]>
  messageExpiryInterval?: number
}

/** The rule filter that `topic` would match (a republish or reply there would loop), if any. */
export function loopingFilter(filters: readonly ParsedFilter[], topic: string): string | undefined {
  return filters.find((filter) => extractParams(filter, topic) !== null)?.source
}

export function createTemplateCompiler(options: CompileOptions, issues: CompileIssue[]) {
  return (path: Path, source: string): Template | undefined => {
    try {
      return compileTemplate(source, options.env, options.limits)
    } catch (err) {
      issues.push({ path, message: (err as Error).message })
      return undefined
    }
  }
}

export function compileSigningKeys(
  sign: HttpTargetDefinition['sign'],
  base: Path,
  options: CompileOptions,
  issues: CompileIssue[],
): Buffer[] | undefined {
  if (!sign) return undefined
  const keys: Buffer[] = []
  sign.secrets.forEach((secret, i) => {
    const path = [...base, 'sign', 'secrets', i]
    let missing: string | undefined
    const value = resolveEnvRefs(secret, options.env, (issue) => {
      missing ??= issue.name
    })
    if (missing !== undefined) {
      issues.push({ path, message: `\${env:${missing}} is used, but the environment variable ${missing} is not set` })
      return
    }
    try {
      keys.push(signingKey(value))
    } catch (err) {
      // Never the value: it is a secret.
      issues.push({ path, message: (err as Error).message })
    }
  })
  return keys
}

export function compileCloudEvents(
  target: HttpTargetDefinition,
  rule: string,
  base: Path,
  options: CompileOptions,
  issues: CompileIssue[],
): CompiledCloudEvents | undefined {
  const spec = target.cloudEvents
  if (!spec) return undefined
  const template = createTemplateCompiler(options, issues)
  const path = [...base, 'cloudEvents']
  if (spec.mode === 'structured' && (target.method === 'GET' || target.method === 'DELETE')) {
    issues.push({ path: [...path, 'mode'], message: `structured CloudEvents need a body: ${target.method} has none` })
  }
  const type = template([...path, 'type'], spec.type)
  const source = template([...path, 'source'], spec.source ?? `/hookbridge/${rule}`)
  return type && source ? { mode: spec.mode, type, source } : undefined
}

export function compileReply(
  reply: ReplyDefinition | undefined,
  filters: readonly ParsedFilter[],
  base: Path,
  options: CompileOptions,
  issues: CompileIssue[],
): CompiledReply | undefined {
  if (!reply) return undefined
  const path = [...base, 'reply']
  const topic =
    reply.topic === undefined ? undefined : compileTopic(reply.topic, filters, [...path, 'topic'], options, issues)
  let transform: CompiledExpression | undefined
  if (reply.transform !== undefined) {
    try {
      transform = compileExpression(reply.transform, options.limits)
    } catch (err) {
      issues.push({ path: [...path, 'transform'], message: (err as Error).message })
    }
  }
  return { topic, qos: reply.qos, retain: reply.retain, transform, onStatus: reply.onStatus }
}

export function compileMqttTarget(
  target: MqttTargetDefinition,
  name: string,
  filters: readonly ParsedFilter[],
  base: Path,
  options: CompileOptions,
  issues: CompileIssue[],
): CompiledMqttTarget | undefined {
  const before = issues.length
  const spec = target.mqtt
  const path = [...base, 'mqtt']
  const template = createTemplateCompiler(options, issues)
  const topic = compileTopic(spec.topic, filters, [...path, 'topic'], options, issues)
  const properties = spec.properties ?? {}
  const contentType =
    properties.contentType === undefined
      ? undefined
      : template([...path, 'properties', 'contentType'], properties.contentType)
  const userProperties: Array<readonly [string, Template]> = []
  for (const [key, value] of Object.entries(properties.userProperties ?? {})) {
    const compiled = template([...path, 'properties', 'userProperties', key], value)
    if (compiled) userProperties.push([key, compiled] as const)
  }
  if (issues.length > before || !topic) return undefined
  return {
    kind: 'mqtt',
    name,
    method: 'MQTT',
    topic,
    url: topic,
    headers: [],
    timeoutMs: undefined,
    allowedHosts: undefined,
    qos: spec.qos,
    retain: spec.retain,
    contentType,
    userProperties,
    messageExpiryInterval: properties.messageExpiryInterval,
  }
}

/** A topic template; when it is static, also a valid topic that none of the rule's own filters match. */
function compileTopic(
  source: string,
  filters: readonly ParsedFilter[],
  path: Path,
  options: CompileOptions,
  issues: CompileIssue[],
): Template | undefined {
  const topic = createTemplateCompiler(options, issues)(path, source)
  if (!topic?.isStatic) return topic
  // Static: its ${env:NAME} references resolved when it compiled, so they are set.
  const value = resolveEnvRefs(source, options.env, () => {})
    .replace(/\{\{/g, '{')
    .replace(/\}\}/g, '}')
  try {
    validateTopic(value)
  } catch (err) {
    issues.push({ path, message: isHookbridgeError(err) ? String(err.details.detail) : String(err) })
    return undefined
  }
  const filter = loopingFilter(filters, value)
  if (filter !== undefined) {
    issues.push({
      path,
      message: `"${value}" matches this rule's own filter "${filter}": the rule would receive what it publishes, again and again. Publish to a topic outside its filters.`,
    })
    return undefined
  }
  return topic
}
