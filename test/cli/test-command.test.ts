// `hookbridge test` and `hookbridge schema` as a user runs them: the built CLI as a child process, offline.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../helpers/cli.js'

const exampleRules = new URL('../../rules/', import.meta.url).pathname
let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookbridge-cli-test-'))
  copyFileSync(join(exampleRules, 'hot-readings.yaml'), join(dir, 'hot-readings.yaml'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const hotCase = (name: string, celsius: number, expect: string) =>
  `  - name: ${name}\n    message: { topic: sensors/kitchen/temperature, payload: { celsius: ${celsius} } }\n    expect: ${expect}\n`

describe('hookbridge test', () => {
  it('passes the fixtures of the example rules', async () => {
    const result = await runCli(['test', exampleRules])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^✓ hot-readings › a hot reading becomes an alert for its device$/m)
    expect(result.stdout).toMatch(/^✓ door-events › /m)
    expect(result.stdout).toMatch(/^\d+ passed, 0 failed$/m)
  })

  it('prints a diff for a failing case and exits 1', async () => {
    writeFileSync(
      join(dir, 'hot-readings.test.yaml'),
      `cases:\n${hotCase('cool', 12, '{ skipped: true }')}${hotCase('hot', 31.5, '{ requests: [{ url: "http://127.0.0.1:9000/alerts/hall" }] }')}`,
    )
    const result = await runCli(['test', dir])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^✓ hot-readings › cool$/m)
    expect(result.stdout).toMatch(/^✗ hot-readings › hot \(.*hot-readings\.test\.yaml:5\)$/m)
    expect(result.stdout).toContain('    differs at: requests[0].url\n')
    expect(result.stdout).toMatch(/^ {4}- {7}"url": "http:\/\/127\.0\.0\.1:9000\/alerts\/hall"$/m)
    expect(result.stdout).toMatch(/^ {4}\+ {7}"url": "http:\/\/127\.0\.0\.1:9000\/alerts\/kitchen"$/m)
    expect(result.stdout).toMatch(/^1 passed, 1 failed$/m)
  })

  it('reports the results as JSON with --json', async () => {
    writeFileSync(join(dir, 'hot-readings.test.yaml'), `cases:\n${hotCase('cool', 12, '{ skipped: when }')}`)
    const result = await runCli(['test', dir, '--json'])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout)
    expect(report).toMatchObject({ passed: 1, failed: 0, problems: [] })
    expect(report.results[0]).toMatchObject({ rule: 'hot-readings', case: 'cool', ok: true })
  })

  it('exits 1 when a fixture names a rule that is not loaded, or has no cases', async () => {
    writeFileSync(join(dir, 'cold-readings.test.yaml'), `cases:\n${hotCase('x', 1, '{ skipped: true }')}`)
    writeFileSync(join(dir, 'hot-readings.test.yaml'), `cases:\n${hotCase('cool', 12, '{ skipped: true }')}`)
    const result = await runCli(['test', dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cold-readings\.test\.yaml: no rule named "cold-readings" is loaded/)
    expect(result.stdout).toMatch(/^1 passed, 0 failed$/m)
    rmSync(join(dir, 'cold-readings.test.yaml'))
    rmSync(join(dir, 'hot-readings.test.yaml'))
    const none = await runCli(['test', dir])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/no fixtures in .*: add <rule>\.test\.yaml/)
  })

  it('reports invalid rules as validate does, and runs nothing', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'from: { topic: b }\nto: { url: "http://h/x" }\ncolour: red\n')
    writeFileSync(join(dir, 'hot-readings.test.yaml'), `cases:\n${hotCase('cool', 12, '{ skipped: true }')}`)
    const result = await runCli(['test', dir])
    const validate = await runCli(['validate', dir])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(validate.stderr)
    expect(result.stderr).toMatch(/bad\.yaml:3:\d+: colour: unknown key "colour"/)
    expect(result.stdout).toBe('')
  })
})

describe('hookbridge schema', () => {
  it('prints the committed JSON Schemas of rule and fixture files', async () => {
    const rule = await runCli(['schema'])
    expect(rule.code).toBe(0)
    expect(rule.stdout).toBe(readFileSync(new URL('../../schema/rule.schema.json', import.meta.url), 'utf8'))
    const fixture = await runCli(['schema', 'fixture'])
    expect(fixture.stdout).toBe(readFileSync(new URL('../../schema/fixture.schema.json', import.meta.url), 'utf8'))
  })

  it('rejects an unknown kind, and --json outside `test`, with usage exit code 64', async () => {
    const result = await runCli(['schema', 'config'])
    expect(result.code).toBe(64)
    expect(result.stderr).toMatch(/HOOKBRIDGE_CLI_USAGE: schema takes "rule" \(the default\) or "fixture"/)
    expect((await runCli(['validate', dir, '--json'])).code).toBe(64)
  })
})
