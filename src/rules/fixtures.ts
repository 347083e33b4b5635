// Rule fixtures: `<rule>.test.yaml` files beside the rules, each listing messages and the expected outcome.
// Loading reports every problem with file, field and line (like the rule loader); running is offline: the rule
// prepares its requests as in production, and nothing is sent.
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join, relative } from 'node:path'
import { formatFieldPath, parseSourceFile, type SourceIssue } from '../config/source-file.js'
import { zodIssuesToSourceIssues } from '../config/zod-issues.js'
import type { SourceMessage } from '../spool/spool.js'
import { dryRun } from './dry-run.js'
import { compareOutcome, formatDiff } from './fixture-diff.js'
import {
  base64Payload,
  type Expectation,
  FIXTURE_RECEIVED_AT,
  type FixtureMessage,
  fixtureFileSchema,
} from './fixture-schema.js'
import type { RuleSet } from './rule-set.js'

const FIXTURE_FILE = /\.test\.(ya?ml|json)$/

/** The delivery id prefix of fixture runs, so that `x-hookbridge-delivery-id` is stable: `fixture:<rule>:<target>`. */
export const FIXTURE_MESSAGE_ID = 'fixture'

export interface FixtureCaseInput {
  name: string
  line?: number
  message: SourceMessage
  expect: Expectation
}

export interface Fixture {
  /** As shown to the user (relative to the working directory). */
  file: string
  rule: string
  cases: FixtureCaseInput[]
}

export interface LoadedFixtures {
  fixtures: Fixture[]
  issues: SourceIssue[]
}

export interface CaseResult {
  rule: string
  file: string
  line?: number
  case: string
  ok: boolean
  /** What the fixture expects and what happened, both in the shape the fixture is written in. */
  expected: unknown
  actual: unknown
  /** On failure: expected (-) against actual (+), line by line. */
  diff?: string
}

export function isFixtureFile(name: string): boolean {
  return FIXTURE_FILE.test(name) && !name.startsWith('.')
}

/** Fixture files under `dir`, in the same walk order as the rule loader. */
export function listFixtureFiles(dir: string): string[] {
  const out: string[] = []
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue
      const full = join(current, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.isFile() && isFixtureFile(entry.name)) out.push(full)
    }
  }
  walk(dir)
  return out
}

/** `ruleNames`: the loaded (enabled) rules; a fixture naming another rule is a problem. */
export function loadFixtures(dir: string, ruleNames: readonly string[]): LoadedFixtures {
  const fixtures: Fixture[] = []
  const issues: SourceIssue[] = []
  for (const file of listFixtureFiles(dir)) {
    const display = relative(process.cwd(), file) || file
    const source = parseSourceFile(display, readFileSync(file, 'utf8'))
    if (source.issues.length > 0) {
      issues.push(...source.issues)
      continue
    }
    const parsed = fixtureFileSchema.safeParse(source.value ?? {})
    if (!parsed.success) {
      issues.push(...zodIssuesToSourceIssues(source, parsed.error))
      continue
    }
    const rule = parsed.data.rule ?? basename(file).replace(FIXTURE_FILE, '')
    if (!ruleNames.includes(rule)) {
      const field = parsed.data.rule === undefined ? [] : ['rule']
      const at = parsed.data.rule === undefined ? undefined : source.locate(field)
      issues.push({
        file: display,
        field: formatFieldPath(field),
        line: at?.line,
        column: at?.column,
        message:
          `no rule named "${rule}" is loaded from ${dir} (rules: ${ruleNames.join(', ') || 'none'}); ` +
          'name the file <rule>.test.yaml or set "rule:" (a disabled rule cannot be tested)',
      })
      continue
    }
    const cases = parsed.data.cases.map((c, i) => ({
      name: c.name,
      line: source.locate(['cases', i])?.line,
      message: toSourceMessage(c.message),
      expect: c.expect,
    }))
    fixtures.push({ file: display, rule, cases })
  }
  return { fixtures, issues }
}

/** Runs one case against `ruleSet` (which holds the fixture's rule). Never sends anything. */
export async function runFixtureCase(ruleSet: RuleSet, fixture: Fixture, input: FixtureCaseInput): Promise<CaseResult> {
  const rule = ruleSet.get(fixture.rule)
  if (!rule) throw new Error(`rule ${fixture.rule} is not in the rule set`)
  const outcome = await dryRun(ruleSet, rule, input.message, FIXTURE_MESSAGE_ID)
  const { ok, expected, actual } = compareOutcome(input.expect, outcome)
  const result: CaseResult = {
    rule: fixture.rule,
    file: fixture.file,
    line: input.line,
    case: input.name,
    ok,
    expected,
    actual,
  }
  if (!ok) result.diff = formatDiff(expected, actual)
  return result
}

export function toSourceMessage(message: FixtureMessage): SourceMessage {
  const base64 = base64Payload(message.payload)
  const payload =
    typeof base64 === 'string'
      ? Buffer.from(base64, 'base64')
      : message.payload === undefined
        ? Buffer.alloc(0)
        : typeof message.payload === 'string'
          ? Buffer.from(message.payload, 'utf8')
          : Buffer.from(JSON.stringify(message.payload), 'utf8')
  const receivedAt =
    message.receivedAt === undefined
      ? FIXTURE_RECEIVED_AT
      : typeof message.receivedAt === 'number'
        ? message.receivedAt
        : Date.parse(message.receivedAt)
  const out: SourceMessage = { topic: message.topic, payload, qos: message.qos, retain: message.retain, receivedAt }
  if (message.properties) out.properties = { ...message.properties }
  return out
}
