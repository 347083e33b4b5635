// URL and header templates: literal text, `${env:NAME}` secrets (resolved at load) and `{expression}` parts
// computed from the envelope. A plain path such as `{params.device}` is read directly; anything else is JSONata.
import { type CompiledExpression, compileExpression, type ExpressionLimits } from './jsonata.js'

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'path'; source: string; keys: string[] }
  | { kind: 'expr'; source: string; expression: CompiledExpression }

export interface Template {
  source: string
  /** True when no part is computed. */
  readonly isStatic: boolean
  /** The text of a static template (what render() gives without a promise); undefined when computed. */
  readonly staticText: string | undefined
  /** Names of `${env:NAME}` references (their values never appear in logs). */
  readonly envRefs: readonly string[]
  render(input: unknown, encode?: (value: string) => string): Promise<string>
}

export class TemplateError extends Error {}

const SIMPLE_PATH = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/

export function compileTemplate(source: string, env: NodeJS.ProcessEnv, limits?: ExpressionLimits): Template {
  const parts: Part[] = []
  const envRefs: string[] = []
  let text = ''
  let i = 0
  while (i < source.length) {
    const c = source[i]!
    if (source.startsWith('${env:', i)) {
      const end = source.indexOf('}', i)
      const name = end > 0 ? source.slice(i + 6, end) : ''
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TemplateError(`malformed \${env:NAME} at character ${i}`)
      const value = env[name]
      if (value === undefined)
        throw new TemplateError(`\${env:${name}} is used, but the environment variable ${name} is not set`)
      envRefs.push(name)
      text += value
      i = end + 1
    } else if (c === '{' && source[i + 1] === '{') {
      text += '{'
      i += 2
    } else if (c === '}' && source[i + 1] === '}') {
      text += '}'
      i += 2
    } else if (c === '{') {
      const end = findClose(source, i)
      if (end < 0) throw new TemplateError(`"{" at character ${i} is not closed (write "{{" for a literal brace)`)
      const expr = source.slice(i + 1, end).trim()
      if (expr === '') throw new TemplateError(`empty {} at character ${i}`)
      if (text) parts.push({ kind: 'text', text })
      text = ''
      parts.push(
        SIMPLE_PATH.test(expr)
          ? { kind: 'path', source: expr, keys: expr.split('.') }
          : { kind: 'expr', source: expr, expression: compileExpression(expr, limits) },
      )
      i = end + 1
    } else if (c === '}') {
      throw new TemplateError(`unmatched "}" at character ${i} (write "}}" for a literal brace)`)
    } else {
      text += c
      i++
    }
  }
  if (text) parts.push({ kind: 'text', text })
  const isStatic = parts.every((p) => p.kind === 'text')
  const staticText = isStatic ? parts.map((p) => (p as { text: string }).text).join('') : ''

  return {
    source,
    isStatic,
    staticText: isStatic ? staticText : undefined,
    envRefs,
    async render(input, encode = (v) => v) {
      if (isStatic) return staticText
      let out = ''
      for (const part of parts) {
        if (part.kind === 'text') out += part.text
        else
          out += encode(
            stringify(
              part.source,
              part.kind === 'path' ? readPath(input, part.keys) : await part.expression.evaluate(input),
            ),
          )
      }
      return out
    },
  }
}

function findClose(source: string, open: number): number {
  let depth = 0
  let quote: string | undefined
  for (let i = open; i < source.length; i++) {
    const c = source[i]
    if (quote) {
      if (c === quote) quote = undefined
    } else if (c === '"' || c === "'") quote = c
    else if (c === '{') depth++
    else if (c === '}' && --depth === 0) return i
  }
  return -1
}

function readPath(input: unknown, keys: string[]): unknown {
  let value = input
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function stringify(source: string, value: unknown): string {
  if (value === undefined || value === null) throw new TemplateError(`{${source}} has no value for this message`)
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return JSON.stringify(value)
}
