import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ruleJsonSchema, ruleJsonSchemaText, schemaFile, schemaKinds } from './json-schema.js'

const root = new URL('../../', import.meta.url)

describe('JSON Schema of rule and fixture files', () => {
  for (const kind of schemaKinds) {
    it(`schema/${kind}.schema.json is what \`hookbridge schema ${kind}\` prints`, () => {
      const committed = readFileSync(new URL(schemaFile(kind), root), 'utf8')
      const command = `node dist/cli/main.js schema${kind === 'rule' ? '' : ` ${kind}`} > ${schemaFile(kind)}`
      expect(committed, `${schemaFile(kind)} is stale: run \`npm run build && ${command}\``).toBe(
        ruleJsonSchemaText(kind),
      )
    })
  }

  it('describes a rule or a list of rules, with every field of the zod schema', () => {
    const schema = ruleJsonSchema('rule') as {
      $schema: string
      anyOf: unknown[]
      definitions: Record<string, { properties: Record<string, { description?: string; enum?: string[] }> }>
    }
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#')
    const anyRule = { anyOf: [{ $ref: '#/definitions/Rule' }, { $ref: '#/definitions/HookRule' }] }
    expect(schema.anyOf).toEqual([anyRule, { minItems: 1, type: 'array', items: anyRule }])
    expect(schema.definitions.HookRule).toMatchObject({ required: ['from', 'publish'], additionalProperties: false })
    const rule = schema.definitions.Rule!
    expect(Object.keys(rule.properties)).toEqual(
      expect.arrayContaining(['$schema', 'name', 'from', 'when', 'transform', 'to', 'orderBy', 'retry', 'deadLetter']),
    )
    expect(rule).toMatchObject({ required: ['from', 'to'], additionalProperties: false })
    // Methods are accepted in any case, so editors offer both.
    expect(schema.definitions.HttpTarget!.properties.method!.enum).toEqual(expect.arrayContaining(['POST', 'post']))
    expect(schema.definitions.HttpTarget!.properties.url!.description).toMatch(/expression/)
  })

  it('the example rules and fixtures point editors at the committed schemas', () => {
    const read = (path: string) => readFileSync(new URL(path, root), 'utf8')
    expect(read('rules/hot-readings.yaml')).toMatch(
      /^# yaml-language-server: \$schema=\.\.\/schema\/rule\.schema\.json$/m,
    )
    expect(JSON.parse(read('rules/door-events.json')).$schema).toBe('../schema/rule.schema.json')
    for (const fixture of ['rules/hot-readings.test.yaml', 'rules/door-events.test.yaml']) {
      expect(read(fixture)).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/fixture\.schema\.json$/m)
    }
  })
})
