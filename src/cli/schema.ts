// `hookbridge schema [rule|fixture]`: the JSON Schema of rule files (or fixture files) on stdout, for editors.
// The committed copies in schema/ are this output (`node dist/cli/main.js schema > schema/rule.schema.json`).
import { HookbridgeError } from '../errors.js'
import { ruleJsonSchemaText, type SchemaKind, schemaKinds } from '../rules/json-schema.js'

export function runSchema(args: string[]): number {
  const [kind = 'rule', ...extra] = args
  if (extra.length > 0 || !schemaKinds.includes(kind as SchemaKind)) {
    throw new HookbridgeError('HOOKBRIDGE_CLI_USAGE', {
      detail: `schema takes "rule" (the default) or "fixture", got "${args.join(' ')}"`,
    })
  }
  process.stdout.write(ruleJsonSchemaText(kind as SchemaKind))
  return 0
}
