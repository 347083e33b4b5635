// Reads a rules directory: every .yaml/.yml/.json file (fixtures `*.test.yaml` aside), each holding one rule or a
// list. Returns every problem at once, each with file, field and line, so `validate` can list them all.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, extname, join, relative } from 'node:path'
import { formatFieldPath, formatIssue, parseSourceFile, type SourceIssue } from '../config/source-file.js'
import { zodIssuesToSourceIssues } from '../config/zod-issues.js'
import { HookbridgeError } from '../errors.js'
import { compileExpression, type ExpressionLimits } from '../transform/jsonata.js'
import { type CompiledRule, type CompileIssue, compileRule } from './compile.js'
import { type CompiledHook, compileHook, isCompiledHook } from './compile-hook.js'
import { type AnyRuleDefinition, isHookRule, parseRuleFile, ruleNamePattern } from './schema.js'

export interface LoadRulesOptions {
  env?: NodeJS.ProcessEnv
  limits?: ExpressionLimits
}

export interface LoadedRules {
  dir: string
  rules: CompiledRule[]
  /** Rules whose source is an HTTP path (`from: { hook }`): kept apart, they take no part in MQTT routing. */
  hooks: CompiledHook[]
  issues: SourceIssue[]
  /** Files read, relative to dir. */
  files: string[]
}

const RULE_EXTENSIONS = new Set(['.yaml', '.yml', '.json'])

export function isRuleFile(name: string): boolean {
  return RULE_EXTENSIONS.has(extname(name)) && !/\.test\.(ya?ml|json)$/.test(name) && !name.startsWith('.')
}

export function listRuleFiles(dir: string): string[] {
  let stat: ReturnType<typeof statSync>
  try {
    stat = statSync(dir)
  } catch {
    throw new HookbridgeError('HOOKBRIDGE_RULES_DIR_MISSING', { dir })
  }
  if (!stat.isDirectory()) throw new HookbridgeError('HOOKBRIDGE_RULES_DIR_MISSING', { dir })
  const out: string[] = []
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue
      const full = join(current, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.isFile() && isRuleFile(entry.name)) out.push(full)
    }
  }
  walk(dir)
  return out
}

/** The rules directory and its subdirectories (the ones listRuleFiles walks). */
export function listRuleDirs(dir: string): string[] {
  const out = [dir]
  for (let i = 0; i < out.length; i++) {
    for (const entry of readdirSync(out[i]!, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
        out.push(join(out[i]!, entry.name))
    }
  }
  return out
}

export function loadRules(dir: string, options: LoadRulesOptions = {}): LoadedRules {
  const env = options.env ?? process.env
  const files = listRuleFiles(dir)
  const rules: CompiledRule[] = []
  const hooks: CompiledHook[] = []
  const issues: SourceIssue[] = []
  const owners = new Map<string, string>()
  const hookOwners = new Map<string, string>()
  for (const file of files) {
    const display = relative(process.cwd(), file) || file
    for (const rule of loadRuleFile(file, display, env, options.limits, issues)) {
      const first = owners.get(rule.name)
      if (first !== undefined) {
        issues.push({
          file: display,
          field: 'name',
          message: `rule name "${rule.name}" is already used in ${first}; names must be unique`,
        })
        continue
      }
      owners.set(rule.name, display)
      if (!isCompiledHook(rule)) {
        rules.push(rule)
        continue
      }
      const firstHook = hookOwners.get(rule.hook)
      if (firstHook !== undefined) {
        issues.push({
          file: display,
          field: 'from.hook.name',
          message: `hook "${rule.hook}" is already served by ${firstHook}; each POST /v1/hooks/<name> has one rule`,
        })
        continue
      }
      hookOwners.set(rule.hook, `rule "${rule.name}" in ${display}`)
      hooks.push(rule)
    }
  }
  return { dir, rules, hooks, issues, files: files.map((f) => relative(dir, f)) }
}

function loadRuleFile(
  file: string,
  display: string,
  env: NodeJS.ProcessEnv,
  limits: ExpressionLimits | undefined,
  issues: SourceIssue[],
): Array<CompiledRule | CompiledHook> {
  const source = parseSourceFile(display, readFileSync(file, 'utf8'))
  if (source.issues.length > 0) {
    issues.push(...source.issues)
    return []
  }
  if (source.value === null || source.value === undefined) {
    issues.push({
      file: display,
      field: '',
      message: 'the file is empty: write a rule (from:, to:) or delete the file',
    })
    return []
  }
  const parsed = parseRuleFile(source.value)
  if (!parsed.success) {
    issues.push(...zodIssuesToSourceIssues(source, parsed.error))
    // The schema failed, but JSONata mistakes elsewhere in the file are worth reporting in the same pass.
    const rules = Array.isArray(source.value) ? source.value : [source.value]
    rules.forEach((rule, index) => {
      for (const field of ['when', 'transform', 'orderBy'] as const) {
        const expression = (rule as Record<string, unknown> | null)?.[field]
        if (typeof expression !== 'string') continue
        try {
          compileExpression(expression, limits)
        } catch (err) {
          const path = Array.isArray(source.value) ? [index, field] : [field]
          const pos = source.locate(path)
          issues.push({
            file: display,
            field: formatFieldPath(path),
            line: pos?.line,
            column: pos?.column,
            message: (err as Error).message,
          })
        }
      }
    })
    return []
  }
  const list = Array.isArray(parsed.data) ? parsed.data : [parsed.data]
  const isList = Array.isArray(parsed.data)
  const stem = basename(file, extname(file))
  const out: Array<CompiledRule | CompiledHook> = []
  list.forEach((definition: AnyRuleDefinition, index) => {
    const prefix = isList ? [index] : []
    let name = definition.name
    if (name === undefined) {
      if (isList) {
        const pos = source.locate(prefix)
        issues.push({
          file: display,
          field: formatFieldPath([index, 'name']),
          line: pos?.line,
          message: 'rules in a list need a name',
        })
        return
      }
      name = stem
      if (!ruleNamePattern.test(name)) {
        issues.push({
          file: display,
          field: 'name',
          message: `the file name "${stem}" cannot be a rule name: rename the file or give the rule a name (letters, digits, ".", "_", "-")`,
        })
        return
      }
    }
    const compileIssues: CompileIssue[] = []
    const rule = isHookRule(definition)
      ? compileHook(definition, name, display, { env, limits }, compileIssues)
      : compileRule(definition, name, display, { env, limits }, compileIssues)
    for (const issue of compileIssues) {
      const path = [...prefix, ...issue.path]
      const pos = source.locate(path)
      issues.push({
        file: display,
        field: formatFieldPath(path),
        line: pos?.line,
        column: pos?.column,
        message: issue.message,
      })
    }
    if (rule && definition.enabled) out.push(rule)
  })
  return out
}

/** Load and throw one error listing every problem (what `start` does). */
export function loadRulesOrThrow(dir: string, options: LoadRulesOptions = {}): LoadedRules {
  const loaded = loadRules(dir, options)
  if (loaded.issues.length > 0) {
    const detail = `${loaded.issues.length} problem${loaded.issues.length > 1 ? 's' : ''} in ${dir}:\n${loaded.issues.map((i) => `  - ${formatIssue(i)}`).join('\n')}`
    throw new HookbridgeError('HOOKBRIDGE_RULE_INVALID', { detail, issues: loaded.issues })
  }
  return loaded
}
