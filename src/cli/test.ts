// `hookbridge test [dir] [--json]`: runs the rule fixtures (`*.test.yaml`) offline: no broker, no network, the
// requests are computed and compared, never sent. Exit 0 when every case passes, 1 otherwise (CI).
import { formatIssue, type SourceIssue } from '../config/source-file.js'
import { type CaseResult, loadFixtures, runFixtureCase } from '../rules/fixtures.js'
import { loadRules } from '../rules/load.js'
import { createRuleSet } from '../rules/rule-set.js'

export interface TestOptions {
  json?: boolean
  env?: NodeJS.ProcessEnv
}

export async function runTest(dir: string, options: TestOptions = {}): Promise<number> {
  const loaded = loadRules(dir, { env: options.env })
  if (loaded.issues.length > 0) {
    // The same report as `hookbridge validate`: fixtures cannot run against rules that do not load.
    process.stderr.write(problems(loaded.issues, dir))
    return 1
  }
  const ruleSet = createRuleSet(loaded.rules)
  const { fixtures, issues } = loadFixtures(
    dir,
    loaded.rules.map((r) => r.name),
  )
  if (issues.length > 0) process.stderr.write(problems(issues, dir))
  const results: CaseResult[] = []
  for (const fixture of fixtures) {
    for (const input of fixture.cases) {
      const result = await runFixtureCase(ruleSet, fixture, input)
      results.push(result)
      if (!options.json) process.stdout.write(formatResult(result))
    }
  }
  const passed = results.filter((r) => r.ok).length
  const failed = results.length - passed
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ passed, failed, problems: issues.map(formatIssue), results }, null, 2)}\n`)
  } else {
    process.stdout.write(`${results.length > 0 ? '\n' : ''}${passed} passed, ${failed} failed\n`)
  }
  if (results.length === 0 && issues.length === 0) {
    process.stderr.write(
      `no fixtures in ${dir}: add <rule>.test.yaml beside a rule (see "Rule fixtures" in README.md)\n`,
    )
    return 1
  }
  return failed > 0 || issues.length > 0 ? 1 : 0
}

function formatResult(result: CaseResult): string {
  if (result.ok) return `✓ ${result.rule} › ${result.case}\n`
  const where = result.line !== undefined ? `${result.file}:${result.line}` : result.file
  const diff = (result.diff ?? '')
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')
  return `✗ ${result.rule} › ${result.case} (${where})\n${diff}\n`
}

function problems(issues: SourceIssue[], dir: string): string {
  const n = issues.length
  return `${n} problem${n > 1 ? 's' : ''} in ${dir}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`
}
