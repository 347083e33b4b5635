import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { formatIssue } from '../config/source-file.js'
import { isHookbridgeError } from '../errors.js'
import { loadRules, loadRulesOrThrow } from './load.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookbridge-rules-test-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const write = (name: string, text: string) => writeFileSync(join(dir, name), text)
const messages = () => loadRules(dir, { env: {} }).issues.map(formatIssue)

const good = `from:
  topic: sensors/+device/temperature
to:
  url: http://127.0.0.1:9000/alerts/{params.device}
`

describe('loading rule files', () => {
  it('loads YAML and JSON rules, naming each after its file unless it has a name', () => {
    write('a.yaml', good)
    write('b.json', JSON.stringify({ name: 'bee', from: { topic: 'x/#' }, to: { url: 'http://h/x' } }))
    write('a.test.yaml', 'not a rule: fixtures are skipped')
    const loaded = loadRules(dir, { env: {} })
    expect(loaded.issues).toEqual([])
    expect(loaded.rules.map((r) => r.name)).toEqual(['a', 'bee'])
    const a = loaded.rules[0]!
    expect(a.filters[0]!.subscription).toBe('sensors/+/temperature')
    expect(a.qos).toBe(1)
    expect(a.targets[0]!.method).toBe('POST')
  })

  it('loads a list of rules from one file', () => {
    write(
      'many.yaml',
      `- name: one\n  from: { topic: a }\n  to: { url: "http://h/1" }\n- name: two\n  from: { topic: b }\n  to: { url: "http://h/2" }\n`,
    )
    expect(loadRules(dir, { env: {} }).rules.map((r) => r.name)).toEqual(['one', 'two'])
  })

  it('reports an unknown key with file, field and line', () => {
    write('bad.yaml', `${good}retries: 3\n`)
    expect(messages()).toHaveLength(1)
    expect(messages()[0]).toMatch(/bad\.yaml:5:\d+: retries: unknown key "retries": remove it or check the spelling$/)
  })

  it('reports a missing field and a wrong type, with what was expected', () => {
    write('bad.yaml', 'from:\n  topic: a\n  qos: 3\n')
    const out = messages().join('\n')
    expect(out).toMatch(/bad\.yaml:3:\d+: from\.qos: expected one of 0, 1, 2/)
    expect(out).toMatch(/bad\.yaml(:1:1)?: to: expected .*missing/)
  })

  it('reports invalid JSONata in `when` and `transform` at the line of the field', () => {
    write('bad.yaml', `${good}when: payload.celsius >\ntransform: '{ "a": '\n`)
    const out = messages()
    expect(out).toHaveLength(2)
    expect(out[0]).toMatch(/bad\.yaml:5:\d+: when: invalid JSONata/)
    expect(out[1]).toMatch(/bad\.yaml:6:\d+: transform: invalid JSONata/)
  })

  it('reports an invalid topic filter', () => {
    write('bad.yaml', 'from:\n  topic: [ok/+, "a/#/b"]\nto:\n  url: http://h/x\n')
    expect(messages()[0]).toMatch(/bad\.yaml:2:\d+: from\.topic\[1\]: .*#/)
  })

  it('requires allowedHosts when the URL host is computed, and accepts it with them', () => {
    write('bad.yaml', 'from: { topic: "a/+host" }\nto: { url: "http://{params.host}:8080/x" }\n')
    expect(messages()[0]).toMatch(
      /to\.url: the host is computed from the message: list the hosts it may reach in allowedHosts/,
    )
    write(
      'bad.yaml',
      'from: { topic: "a/+host" }\nto: { url: "http://{params.host}:8080/x", allowedHosts: ["a:8080"] }\n',
    )
    expect(messages()).toEqual([])
  })

  it('resolves ${env:NAME} in headers at load and reports a missing variable', () => {
    write('r.yaml', `${good}  headers:\n    authorization: Bearer \${env:ALERTS_TOKEN}\n`)
    const loaded = loadRules(dir, { env: { ALERTS_TOKEN: 's3cret' } })
    expect(loaded.issues).toEqual([])
    expect(loaded.rules[0]!.targets[0]!.headers[0]![1].envRefs).toEqual(['ALERTS_TOKEN'])
    expect(messages()[0]).toMatch(
      /r\.yaml:6:\d+: to\.headers\.authorization: \$\{env:ALERTS_TOKEN\} is used, but the environment variable ALERTS_TOKEN is not set/,
    )
  })

  it('refuses duplicate names and unnamed rules in a list', () => {
    write('a.yaml', `name: same\n${good}`)
    write('b.yaml', `name: same\n${good}`)
    write('c.yaml', `- ${good.replace(/\n(?=.)/g, '\n  ')}`)
    const out = messages()
    expect(out.some((m) => /b\.yaml: name: rule name "same" is already used in .*a\.yaml/.test(m))).toBe(true)
    expect(out.some((m) => /c\.yaml:\d+: \[0\]\.name: rules in a list need a name/.test(m))).toBe(true)
  })

  it('reports YAML syntax errors with their line', () => {
    write('broken.yaml', 'from:\n  topic: [a, b\nto: {}\n')
    expect(messages()[0]).toMatch(/broken\.yaml:\d+:\d+: /)
  })

  it('lists every problem of every file at once, and loadRulesOrThrow throws them together', () => {
    write('a.yaml', 'from: { topic: a }\n')
    write('b.yaml', `${good}bogus: 1\n`)
    expect(messages()).toHaveLength(2)
    try {
      loadRulesOrThrow(dir, { env: {} })
      expect.unreachable()
    } catch (err) {
      expect(isHookbridgeError(err, 'HOOKBRIDGE_RULE_INVALID')).toBe(true)
      expect((err as Error).message).toMatch(/2 problems in .*:\n {2}- .*a\.yaml.*\n {2}- .*b\.yaml/)
    }
  })

  it('says what to do when the directory does not exist', () => {
    expect(() => loadRules(join(dir, 'nope'))).toThrow(/does not exist\. Create it, or point HOOKBRIDGE_RULES/)
  })

  it('skips disabled rules', () => {
    write('off.yaml', `enabled: false\n${good}`)
    expect(loadRules(dir, { env: {} }).rules).toEqual([])
  })
})
