// A hook rule turned into what POST /v1/hooks/{name} runs: the verification with its secrets resolved, the
// compiled transform, the topic and property templates. Everything that can fail fails here, at load.
import { createHash } from 'node:crypto'
import { resolveEnvRefs } from '../config/env-refs.js'
import { signingKey } from '../delivery/sign.js'
import { isHookbridgeError } from '../errors.js'
import { validateTopic } from '../topics/filter.js'
import { type CompiledExpression, compileExpression } from '../transform/jsonata.js'
import { compileTemplate, type Template } from '../transform/template.js'
import type { CompileIssue, CompileOptions } from './compile.js'
import type { HookRuleDefinition } from './schema.js'

/** How a request proves where it comes from, with the secrets as key bytes (never logged, never in `definition`). */
export type HookVerification =
  | { kind: 'standardWebhooks'; keys: Buffer[] }
  | { kind: 'githubHmac'; key: Buffer }
  | { kind: 'bearer'; digest: Buffer }
  | { kind: 'none' }

export interface CompiledHook {
  /** The rule's name. */
  name: string
  /** The name in the URL: POST /v1/hooks/<hook>. */
  hook: string
  file: string
  description?: string
  verification: HookVerification
  /** Largest body accepted; undefined: api.maxBodyBytes. */
  maxBodyBytes: number | undefined
  transform?: CompiledExpression
  topic: Template
  qos: 0 | 1 | 2
  retain: boolean
  contentType?: Template
  userProperties: ReadonlyArray<readonly [string, Template]>
  messageExpiryInterval?: number
  definition: HookRuleDefinition
}

export function isCompiledHook(rule: { name: string }): rule is CompiledHook {
  return 'verification' in rule
}

const MIN_BEARER_CHARS = 16

export function compileHook(
  definition: HookRuleDefinition,
  name: string,
  file: string,
  options: CompileOptions,
  issues: CompileIssue[],
): CompiledHook | undefined {
  const before = issues.length
  const source = definition.from.hook
  const verification = compileVerification(source.verify, options.env, issues)

  let transform: CompiledExpression | undefined
  if (definition.transform !== undefined) {
    try {
      transform = compileExpression(definition.transform, options.limits)
    } catch (err) {
      issues.push({ path: ['transform'], message: (err as Error).message })
    }
  }
  const template = (path: (string | number)[], text: string): Template | undefined => {
    try {
      return compileTemplate(text, options.env, options.limits)
    } catch (err) {
      issues.push({ path, message: (err as Error).message })
      return undefined
    }
  }
  const { publish } = definition
  const topic = template(['publish', 'topic'], publish.topic)
  if (topic?.isStatic) {
    // A topic that computes nothing is checked now ('$' topics wait for api.allowDollarTopics at request time).
    const text = resolveEnvRefs(publish.topic, options.env, () => {})
      .replaceAll('{{', '{')
      .replaceAll('}}', '}')
    try {
      validateTopic(text, { allowDollar: true })
    } catch (err) {
      const detail = isHookbridgeError(err) ? String(err.details.detail) : (err as Error).message
      issues.push({ path: ['publish', 'topic'], message: detail })
    }
  }
  const properties = publish.properties ?? {}
  const contentType =
    properties.contentType === undefined
      ? undefined
      : template(['publish', 'properties', 'contentType'], properties.contentType)
  const userProperties: Array<readonly [string, Template]> = []
  for (const [key, value] of Object.entries(properties.userProperties ?? {})) {
    const compiled = template(['publish', 'properties', 'userProperties', key], value)
    if (compiled) userProperties.push([key, compiled] as const)
  }

  if (issues.length > before || !verification || !topic) return undefined
  return {
    name,
    hook: source.name ?? name,
    file,
    description: definition.description,
    verification,
    maxBodyBytes: source.maxBodyBytes,
    transform,
    topic,
    qos: publish.qos,
    retain: publish.retain,
    contentType,
    userProperties,
    messageExpiryInterval: properties.messageExpiryInterval,
    definition,
  }
}

function compileVerification(
  verify: HookRuleDefinition['from']['hook']['verify'],
  env: NodeJS.ProcessEnv,
  issues: CompileIssue[],
): HookVerification | undefined {
  const base = ['from', 'hook', 'verify']
  const secret = (path: (string | number)[], text: string): string | undefined => {
    let missing = false
    const value = resolveEnvRefs(text, env, ({ name }) => {
      missing = true
      issues.push({ path, message: `\${env:${name}} is used, but the environment variable ${name} is not set` })
    })
    if (missing) return undefined
    if (value === '') {
      issues.push({ path, message: 'the secret is empty' })
      return undefined
    }
    return value
  }
  if (verify.standardWebhooks) {
    const keys: Buffer[] = []
    verify.standardWebhooks.secrets.forEach((text, i) => {
      const path = [...base, 'standardWebhooks', 'secrets', i]
      const value = secret(path, text)
      if (value === undefined) return
      // The same decoding as the signing of outgoing webhooks: `whsec_<base64>`, or the text itself.
      try {
        keys.push(signingKey(value))
      } catch (err) {
        issues.push({ path, message: (err as Error).message })
      }
    })
    return keys.length === verify.standardWebhooks.secrets.length ? { kind: 'standardWebhooks', keys } : undefined
  }
  if (verify.githubHmac) {
    const value = secret([...base, 'githubHmac', 'secret'], verify.githubHmac.secret)
    return value === undefined ? undefined : { kind: 'githubHmac', key: Buffer.from(value, 'utf8') }
  }
  if (verify.bearer) {
    const path = [...base, 'bearer', 'token']
    const value = secret(path, verify.bearer.token)
    if (value === undefined) return undefined
    if (value.length < MIN_BEARER_CHARS) {
      issues.push({
        path,
        message: `use at least ${MIN_BEARER_CHARS} characters, e.g. the output of \`openssl rand -hex 32\``,
      })
      return undefined
    }
    return { kind: 'bearer', digest: createHash('sha256').update(value).digest() }
  }
  return { kind: 'none' }
}
