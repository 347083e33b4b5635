// The rule-file and fixture-file formats as JSON Schema (draft-07, what editors' YAML/JSON language servers read),
// generated from the zod schemas so that they cannot drift. `hookbridge schema [rule|fixture]` prints them;
// schema/*.schema.json are the committed copies the example rules reference.
import { z } from 'zod'
import { fixtureCaseSchema, fixtureFileSchema } from './fixture-schema.js'
import { httpTargetSchema, ruleFileSchema, ruleSchema } from './schema.js'

export type SchemaKind = 'rule' | 'fixture'
export const schemaKinds: readonly SchemaKind[] = ['rule', 'fixture']

/** Where the committed copy lives, relative to the package root. */
export const schemaFile = (kind: SchemaKind) => `schema/${kind}.schema.json`

const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']

// Titles and $defs names for the parts used more than once; descriptions still come from `.describe()`.
class Definitions extends z.core.$ZodRegistry<Record<string, unknown>> {
  override get<S extends z.core.$ZodType>(schema: S) {
    const own = super.get(schema)
    const described = z.globalRegistry.get(schema)
    return own === undefined && described === undefined ? undefined : { ...described, ...own }
  }
}

const definitions = new Definitions()
definitions.add(ruleSchema, { id: 'Rule', title: 'hookbridge rule' })
definitions.add(httpTargetSchema, { id: 'HttpTarget', title: 'HTTP target' })
definitions.add(fixtureCaseSchema, { id: 'FixtureCase', title: 'fixture case' })

const roots = {
  rule: {
    schema: ruleFileSchema,
    title: 'hookbridge rule file',
    description: 'One rule, or a list of rules each with a name. Reference: README.md, "Rule files".',
  },
  fixture: {
    schema: fixtureFileSchema,
    title: 'hookbridge rule fixtures',
    description: 'Messages for one rule and the outcome each must have; run with `hookbridge test`.',
  },
} as const

export function ruleJsonSchema(kind: SchemaKind = 'rule'): Record<string, unknown> {
  const root = roots[kind]
  const generated = z.toJSONSchema(root.schema, {
    target: 'draft-07',
    // What a file may contain (defaults make fields optional), not what parsing returns.
    io: 'input',
    unrepresentable: 'any',
    metadata: definitions,
    override(ctx) {
      const json = ctx.jsonSchema
      // `method` is upper-cased before it is checked, so any case is accepted: offer both spellings to editors.
      if (ctx.zodSchema === httpTargetSchema.shape.method) {
        json.type = 'string'
        json.enum = [...HTTP_METHODS, ...HTTP_METHODS.map((m) => m.toLowerCase())]
      }
      // zod's safe-integer bounds and its date-time regex say nothing an editor needs: keep the files readable.
      if (json.maximum === Number.MAX_SAFE_INTEGER) delete json.maximum
      if (json.minimum === Number.MIN_SAFE_INTEGER) delete json.minimum
      if (json.format === 'date-time') delete json.pattern
      if (ctx.path.at(-1) === '$schema' && ctx.path.at(-2) === 'properties') {
        json.description = 'Where editors find this JSON Schema, e.g. ../schema/rule.schema.json'
      }
    },
  }) as Record<string, unknown>
  const { $schema, ...rest } = generated
  return { $schema, title: root.title, description: root.description, ...rest }
}

/** The text of `schema/<kind>.schema.json`: what `hookbridge schema <kind>` prints. */
export function ruleJsonSchemaText(kind: SchemaKind = 'rule'): string {
  return `${toJson(ruleJsonSchema(kind), '', 0)}\n`
}

const LINE_WIDTH = 120

// JSON.stringify(value, null, 2), except that short lists of plain values stay on one line: the way Biome formats
// JSON, so that the committed files pass `npm run lint` exactly as generated.
function toJson(value: unknown, indent: string, column: number): string {
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    if (value.every((item) => item === null || typeof item !== 'object')) {
      const flat = `[${value.map((item) => JSON.stringify(item)).join(', ')}]`
      if (column + flat.length + 1 <= LINE_WIDTH) return flat
    }
    return `[\n${value.map((item) => inner + toJson(item, inner, inner.length)).join(',\n')}\n${indent}]`
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
    if (entries.length === 0) return '{}'
    const lines = entries.map(([key, item]) => {
      const head = `${inner}${JSON.stringify(key)}: `
      return head + toJson(item, inner, head.length)
    })
    return `{\n${lines.join(',\n')}\n${indent}}`
  }
  return JSON.stringify(value)
}
