// A validated rule definition turned into what the message path runs: parsed filters, compiled JSONata,
// compiled URL and header templates. Everything that can fail fails here, at load, not per message.
import type { BatchSettings } from '../delivery/batcher.js'
import { defaultRetryPolicy, type RetryPolicy } from '../delivery/retry-schema.js'
import { isHookbridgeError } from '../errors.js'
import { type ParsedFilter, parseFilter } from '../topics/filter.js'
import { type CompiledExpression, compileExpression, type ExpressionLimits } from '../transform/jsonata.js'
import { compileTemplate, type Template, TemplateError } from '../transform/template.js'
import {
  type CompiledCloudEvents,
  type CompiledMqttTarget,
  type CompiledReply,
  compileCloudEvents,
  compileMqttTarget,
  compileReply,
  compileSigningKeys,
} from './compile-outputs.js'
import type { HttpTargetDefinition, RuleDefinition } from './schema.js'

export interface CompiledHttpTarget {
  kind: 'http'
  /** Stable name of the target within its rule ('0', '1', ...). */
  name: string
  /** The method, or 'POST' when `methodTemplate` computes it per message. */
  method: string
  methodTemplate?: Template
  url: Template
  headers: ReadonlyArray<readonly [string, Template]>
  timeoutMs: number | undefined
  /** Hosts a computed URL may reach (lower-case host or host:port); undefined when the host is literal. */
  allowedHosts: ReadonlySet<string> | undefined
  /** Standard Webhooks keys; the worker signs each attempt with them (they never enter the spool). */
  signingKeys?: readonly Buffer[]
  cloudEvents?: CompiledCloudEvents
  reply?: CompiledReply
  /** Send the target's messages in batches (the aggregate compiled once, here). */
  batch?: BatchSettings
}

export type CompiledTarget = CompiledHttpTarget | CompiledMqttTarget
export type { CompiledMqttTarget }

export interface CompiledRule {
  name: string
  file: string
  description?: string
  filters: ParsedFilter[]
  qos: 0 | 1 | 2
  when?: CompiledExpression
  transform?: CompiledExpression
  orderBy?: CompiledExpression
  targets: CompiledTarget[]
  deadLetter?: { topic: Template; qos: 0 | 1 | 2 }
  retry: RetryPolicy
  definition: RuleDefinition
}

/** A problem found while compiling, located by its field path in the rule. */
export interface CompileIssue {
  path: (string | number)[]
  message: string
}

export interface CompileOptions {
  env: NodeJS.ProcessEnv
  limits?: ExpressionLimits
}

export function compileRule(
  definition: RuleDefinition,
  name: string,
  file: string,
  options: CompileOptions,
  issues: CompileIssue[],
): CompiledRule | undefined {
  const before = issues.length
  const topics = Array.isArray(definition.from.topic) ? definition.from.topic : [definition.from.topic]
  const filters: ParsedFilter[] = []
  topics.forEach((topic, i) => {
    const path = Array.isArray(definition.from.topic) ? ['from', 'topic', i] : ['from', 'topic']
    try {
      const parsed = parseFilter(topic)
      const group = definition.from.shareGroup
      if (group && parsed.shareGroup && parsed.shareGroup !== group) {
        issues.push({
          path,
          message: `names share group "${parsed.shareGroup}" but from.shareGroup is "${group}": use one`,
        })
      }
      filters.push(
        group && !parsed.shareGroup
          ? { ...parsed, shareGroup: group, subscription: `$share/${group}/${parsed.mqttFilter}` }
          : parsed,
      )
    } catch (err) {
      issues.push({ path, message: isHookbridgeError(err) ? String(err.details.detail ?? err.message) : String(err) })
    }
  })

  const expression = (field: 'when' | 'transform' | 'orderBy'): CompiledExpression | undefined => {
    const source = definition[field]
    if (source === undefined) return undefined
    try {
      return compileExpression(source, options.limits)
    } catch (err) {
      issues.push({ path: [field], message: (err as Error).message })
      return undefined
    }
  }
  const when = expression('when')
  const transform = expression('transform')
  const orderBy = expression('orderBy')
  let deadLetter: CompiledRule['deadLetter']
  if (definition.deadLetter) {
    try {
      deadLetter = {
        topic: compileTemplate(definition.deadLetter.topic, options.env, options.limits),
        qos: definition.deadLetter.qos,
      }
    } catch (err) {
      issues.push({ path: ['deadLetter', 'topic'], message: (err as Error).message })
    }
  }

  const targetDefs = Array.isArray(definition.to) ? definition.to : [definition.to]
  const targets: CompiledTarget[] = []
  targetDefs.forEach((target, i) => {
    const base = Array.isArray(definition.to) ? ['to', i] : ['to']
    const compiled =
      'mqtt' in target
        ? compileMqttTarget(target, String(i), filters, base, options, issues)
        : compileTarget(target, String(i), base, { rule: name, filters }, options, issues)
    if (compiled) targets.push(compiled)
  })

  if (issues.length > before) return undefined
  return {
    name,
    file,
    description: definition.description,
    filters,
    qos: definition.from.qos,
    when,
    transform,
    orderBy,
    targets,
    deadLetter,
    retry: definition.retry ?? defaultRetryPolicy,
    definition,
  }
}

function compileTarget(
  target: HttpTargetDefinition,
  name: string,
  base: (string | number)[],
  context: { rule: string; filters: readonly ParsedFilter[] },
  options: CompileOptions,
  issues: CompileIssue[],
): CompiledHttpTarget | undefined {
  const before = issues.length
  const template = (path: (string | number)[], source: string) => {
    try {
      return compileTemplate(source, options.env, options.limits)
    } catch (err) {
      issues.push({ path, message: err instanceof TemplateError ? err.message : (err as Error).message })
      return undefined
    }
  }
  const url = template([...base, 'url'], target.url)
  const headers: Array<readonly [string, Template]> = []
  for (const [header, value] of Object.entries(target.headers)) {
    const compiled = template([...base, 'headers', header], value)
    if (compiled) headers.push([header.toLowerCase(), compiled] as const)
  }
  let allowedHosts: Set<string> | undefined
  if (url) {
    const scheme = /^https?:\/\//i.exec(target.url)
    if (!scheme) {
      issues.push({ path: [...base, 'url'], message: 'expected an http:// or https:// URL' })
    } else {
      if (hostIsComputed(target.url, scheme[0].length) && !target.allowedHosts) {
        issues.push({
          path: [...base, 'url'],
          message: 'the host is computed from the message: list the hosts it may reach in allowedHosts',
        })
      }
      if (url.isStatic) {
        try {
          new URL(target.url.replace(/\$\{env:[^}]*\}/g, 'x'))
        } catch {
          issues.push({ path: [...base, 'url'], message: `"${target.url}" is not a valid URL` })
        }
      }
      if (target.allowedHosts) allowedHosts = new Set(target.allowedHosts.map((h) => h.toLowerCase()))
    }
  }
  const signingKeys = compileSigningKeys(target.sign, base, options, issues)
  const cloudEvents = compileCloudEvents(target, context.rule, base, options, issues)
  const reply = compileReply(target.reply, context.filters, base, options, issues)
  let batch: BatchSettings | undefined
  if (target.batch) {
    const { aggregate, ...limits } = target.batch
    batch = limits
    try {
      if (aggregate !== undefined) batch.aggregate = compileExpression(aggregate, options.limits)
    } catch (err) {
      issues.push({ path: [...base, 'batch', 'aggregate'], message: (err as Error).message })
    }
  }
  const methodTemplate = target.method.includes('{') ? template([...base, 'method'], target.method) : undefined
  if (issues.length > before || !url) return undefined
  return {
    kind: 'http',
    name,
    method: methodTemplate ? 'POST' : target.method,
    ...(methodTemplate && { methodTemplate }),
    url,
    headers,
    timeoutMs: target.timeoutMs,
    allowedHosts,
    ...(signingKeys && { signingKeys }),
    ...(cloudEvents && { cloudEvents }),
    ...(reply && { reply }),
    ...(batch && { batch }),
  }
}

/** Whether a `{expression}` stands in `scheme://authority`, before the first '/', '?' or '#'. */
function hostIsComputed(source: string, from: number): boolean {
  for (let i = from; i < source.length; i++) {
    const c = source[i]
    if (c === '/' || c === '?' || c === '#') return false
    if (source.startsWith('${env:', i)) i = source.indexOf('}', i)
    else if (c === '{' && source[i + 1] === '{') i++
    else if (c === '{') return true
    if (i < 0) return false
  }
  return false
}
