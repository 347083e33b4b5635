import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { formatIssue } from '../config/source-file.js'
import { type CaseResult, loadFixtures, runFixtureCase } from './fixtures.js'
import { loadRules } from './load.js'
import { createRuleSet } from './rule-set.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookbridge-fixtures-test-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const write = (name: string, text: string) => writeFileSync(join(dir, name), text)

async function run(rulesDir: string, env: NodeJS.ProcessEnv = {}) {
  const loaded = loadRules(rulesDir, { env })
  expect(loaded.issues.map(formatIssue)).toEqual([])
  const ruleSet = createRuleSet(loaded.rules)
  const fixtures = loadFixtures(
    rulesDir,
    loaded.rules.map((r) => r.name),
  )
  const results: CaseResult[] = []
  for (const fixture of fixtures.fixtures) {
    for (const input of fixture.cases) results.push(await runFixtureCase(ruleSet, fixture, input))
  }
  return { results, issues: fixtures.issues.map(formatIssue) }
}

const alerts = `from: { topic: "sensors/+device/temperature" }
when: payload.celsius > 30
transform: '{ "device": params.device, "celsius": payload.celsius, "at": $fromMillis(receivedAt) }'
to:
  url: "https://alerts.example/{params.device}?key=\${env:KEY}"
  headers: { authorization: "Bearer \${env:TOKEN}", x-device: "{params.device}" }
`

describe('rule fixtures', () => {
  it('passes the fixtures of the example rules', async () => {
    const { results, issues } = await run(new URL('../../rules/', import.meta.url).pathname)
    expect(issues).toEqual([])
    expect(results.length).toBeGreaterThanOrEqual(6)
    expect(results.filter((r) => !r.ok).map((r) => `${r.case}\n${r.diff}`)).toEqual([])
  })

  it('checks requests, skips, non-matching topics and errors; names the rule after the file', async () => {
    write('alerts.yaml', alerts)
    write(
      'alerts.test.yaml',
      `cases:
  - name: hot
    message: { topic: sensors/kitchen/temperature, payload: { celsius: 31.5 } }
    expect:
      requests:
        - method: post
          url: "https://alerts.example/kitchen?key=[redacted]"
          headers: { Authorization: "Bearer [redacted]", X-Device: kitchen, x-hookbridge-delivery-id: "fixture:alerts:0" }
          body: { device: kitchen, celsius: 31.5, at: "2024-01-01T00:00:00.000Z" }
  - name: at a given time
    message: { topic: sensors/a/temperature, payload: '{"celsius":40}', receivedAt: "2025-06-30T12:00:00Z" }
    expect: { requests: [{ body: { device: a, celsius: 40, at: "2025-06-30T12:00:00.000Z" } }] }
  - name: cool
    message: { topic: sensors/kitchen/temperature, payload: { celsius: 3 } }
    expect: { skipped: when }
  - name: elsewhere
    message: { topic: sensors/kitchen/humidity, payload: 1 }
    expect: { matches: false }
  - name: celsius is text
    message: { topic: sensors/kitchen/temperature, payload: { celsius: "hot" } }
    expect: { error: { code: HOOKBRIDGE_TRANSFORM_FAILED, message: "when" } }
`,
    )
    const { results, issues } = await run(dir, { KEY: 'k3y', TOKEN: 's3cret' })
    expect(issues).toEqual([])
    expect(results.map((r) => [r.rule, r.case, r.ok, r.diff])).toEqual([
      ['alerts', 'hot', true, undefined],
      ['alerts', 'at a given time', true, undefined],
      ['alerts', 'cool', true, undefined],
      ['alerts', 'elsewhere', true, undefined],
      ['alerts', 'celsius is text', true, undefined],
    ])
    // The secrets never appear, not even in what was actually computed.
    expect(JSON.stringify(results)).not.toMatch(/k3y|s3cret/)
  })

  it('compares bodies as JSON, as text or as bytes, and MQTT 5 properties reach the rule', async () => {
    write('raw.yaml', 'from: { topic: "raw/#" }\nto: { url: "http://h/raw" }\n')
    write(
      'raw.test.yaml',
      `cases:
  - { name: text, message: { topic: raw/a, payload: "hi" }, expect: { requests: [{ body: hi }] } }
  - { name: json text, message: { topic: raw/a, payload: '{"a": 1}' }, expect: { requests: [{ body: '{"a": 1}' }] } }
  - { name: json value, message: { topic: raw/a, payload: '{"a": 1}' }, expect: { requests: [{ body: { a: 1 } }] } }
  - { name: bytes, message: { topic: raw/a, payload: { base64: /wA= } }, expect: { requests: [{ bodyBase64: /wA= }] } }
  - name: content type
    message: { topic: raw/a, payload: x, properties: { contentType: text/csv } }
    expect: { requests: [{ headers: { content-type: text/csv } }] }
`,
    )
    const { results } = await run(dir)
    expect(results.filter((r) => !r.ok).map((r) => r.diff)).toEqual([])
  })

  it('fails a case with a diff of the fields it names', async () => {
    write('alerts.yaml', alerts)
    write(
      'alerts.test.yaml',
      `cases:
  - name: wrong
    message: { topic: sensors/kitchen/temperature, payload: { celsius: 31.5 } }
    expect: { requests: [{ headers: { x-device: hall }, body: { device: kitchen, celsius: 30, at: "2024-01-01T00:00:00.000Z" } }] }
  - name: not skipped
    message: { topic: sensors/kitchen/temperature, payload: { celsius: 31.5 } }
    expect: { skipped: true }
`,
    )
    const { results } = await run(dir, { KEY: 'k', TOKEN: 't' })
    expect(results.map((r) => r.ok)).toEqual([false, false])
    expect(results[0]!.line).toBe(2)
    expect(results[0]!.diff).toContain('differs at: requests[0].headers.x-device, requests[0].body.celsius')
    expect(results[0]!.diff).toMatch(/^- {9}"x-device": "hall"\n\+ {9}"x-device": "kitchen"$/m)
    expect(results[0]!.diff).toMatch(/^- {9}"celsius": 30,\n\+ {9}"celsius": 31\.5,$/m)
    expect(results[1]!.diff).toMatch(/^- {3}"skipped": true\n\+ {3}"requests": \[$/m)
  })

  it('reports fixture problems with file, field and line', () => {
    write('alerts.yaml', alerts)
    write(
      'alerts.test.yaml',
      `cases:
  - name: a
    message: { topic: "sensors/+/temperature", colour: red }
    expect: { skipped: true, matches: false }
  - name: b
    message: { topic: x, payload: { base64: "!!" } }
    expect: { requests: [{ body: 1, bodyBase64: AA== }] }
`,
    )
    write('gone.test.yaml', 'cases:\n  - { name: x, message: { topic: a }, expect: { matches: false } }\n')
    write('other.test.json', '{ "rule": "nope", "cases": [')
    const { fixtures, issues } = loadFixtures(dir, ['alerts'])
    expect(fixtures).toEqual([])
    const text = issues.map(formatIssue).join('\n')
    expect(text).toMatch(/alerts\.test\.yaml:3:\d+: cases\[0\]\.message\.colour: unknown key "colour"/)
    expect(text).toMatch(/alerts\.test\.yaml:3:\d+: cases\[0\]\.message\.topic: .*wildcards/)
    expect(text).toMatch(
      /alerts\.test\.yaml:4:\d+: cases\[0\]\.expect: give exactly one of .* \(got matches, skipped\)/,
    )
    expect(text).toMatch(/alerts\.test\.yaml:6:\d+: cases\[1\]\.message\.payload\.base64: expected base64/)
    expect(text).toMatch(
      /alerts\.test\.yaml:7:\d+: cases\[1\]\.expect\.requests\[0\]\.bodyBase64: give body or bodyBase64/,
    )
    expect(text).toMatch(/gone\.test\.yaml: no rule named "gone" is loaded .*\(rules: alerts\)/)
    expect(text).toMatch(/other\.test\.json:1:\d+: /)
  })

  it('refuses two cases with one name, and a `rule:` that is not loaded', () => {
    write('alerts.yaml', alerts)
    write(
      'x.test.yaml',
      'rule: alerts\ncases:\n  - { name: a, message: { topic: a }, expect: { matches: false } }\n  - { name: a, message: { topic: a }, expect: { matches: false } }\n',
    )
    write('y.test.yaml', 'rule: nope\ncases:\n  - { name: a, message: { topic: a }, expect: { matches: false } }\n')
    const text = loadFixtures(dir, ['alerts']).issues.map(formatIssue).join('\n')
    expect(text).toMatch(/x\.test\.yaml:4:\d+: cases\[1\]\.name: another case is named "a"/)
    expect(text).toMatch(/y\.test\.yaml:1:\d+: rule: no rule named "nope"/)
  })
})
