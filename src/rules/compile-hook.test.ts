import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { formatIssue } from '../config/source-file.js'
import { loadRules } from './load.js'
import { createRuleSet } from './rule-set.js'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookbridge-hooks-test-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const write = (name: string, text: string) => writeFileSync(join(dir, name), text)
const messages = (env: NodeJS.ProcessEnv = {}) => loadRules(dir, { env }).issues.map(formatIssue)

const github = `from:
  hook:
    name: github
    verify:
      githubHmac:
        secret: \${env:GITHUB_SECRET}
transform: '{ "repo": body.repository.full_name }'
publish:
  topic: github/{body.repository.name}/push
  qos: 1
`

describe('hook rules', () => {
  it('load beside MQTT rules, apart from MQTT matching and subscriptions', () => {
    write('gh.yaml', github)
    write('mqtt.yaml', 'from: { topic: "#" }\nto: { url: "http://127.0.0.1:9/x" }\n')
    const loaded = loadRules(dir, { env: { GITHUB_SECRET: 'It is a secret' } })
    expect(loaded.issues).toEqual([])
    expect(loaded.rules.map((r) => r.name)).toEqual(['mqtt'])
    expect(loaded.hooks.map((h) => [h.name, h.hook])).toEqual([['gh', 'github']])
    const hook = loaded.hooks[0]!
    expect(hook.verification).toEqual({ kind: 'githubHmac', key: Buffer.from('It is a secret') })
    // The definition keeps the reference, not the secret.
    expect(JSON.stringify(hook.definition)).toContain('${env:GITHUB_SECRET}')
    const set = createRuleSet(loaded.rules, loaded.hooks)
    expect(set.hook('github')).toBe(hook)
    expect(set.hook('gh')).toBeUndefined()
    expect([...set.subscriptions().keys()]).toEqual(['#'])
    expect(set.match('github/x/push').map((m) => m.rule.name)).toEqual(['mqtt'])
  })

  it('take the rule name as hook name by default, and decode whsec_ secrets', () => {
    write(
      'orders.yaml',
      'from: { hook: { verify: { standardWebhooks: { secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", raw] } } } }\npublish: { topic: orders }\n',
    )
    const [hook] = loadRules(dir, { env: {} }).hooks
    expect(hook!.hook).toBe('orders')
    expect(hook!.verification).toEqual({
      kind: 'standardWebhooks',
      keys: [Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'), Buffer.from('raw')],
    })
    expect(hook!.qos).toBe(1)
    expect(hook!.retain).toBe(false)
  })

  it('report a missing secret variable with its line', () => {
    write('gh.yaml', github)
    expect(messages().map((m) => m.replace(/^.*gh\.yaml/, 'gh.yaml'))).toEqual([
      'gh.yaml:6:17: from.hook.verify.githubHmac.secret: ${env:GITHUB_SECRET} is used, but the environment variable GITHUB_SECRET is not set',
    ])
  })

  it('speak of the hook form when a hook rule is wrong', () => {
    write('a.yaml', 'from: { hook: { verify: { githubHmac: { secrt: x } } } }\npublish: { topic: t }\n')
    write('b.yaml', 'from: { hook: { verify: { bearer: { token: x }, none: true } } }\nto: { url: "http://h" }\n')
    expect(messages().map((m) => m.replace(/^.*?(a|b)\.yaml/, '$1'))).toEqual([
      'a:1:39: from.hook.verify.githubHmac.secret: expected string, but it is missing',
      'a:1:48: from.hook.verify.githubHmac.secrt: unknown key "secrt": remove it or check the spelling',
      'b:1:25: from.hook.verify: give exactly one of standardWebhooks, githubHmac, bearer or none: true',
      'b:1:1: publish: expected object, but it is missing',
      'b:2:5: to: unknown key "to": remove it or check the spelling',
    ])
  })

  it('refuse short bearer tokens, bad whsec_ secrets, wildcard topics and duplicate hook names', () => {
    write('a.yaml', 'from: { hook: { verify: { bearer: { token: short } } } }\npublish: { topic: "a/+/b" }\n')
    write(
      'b.yaml',
      'from: { hook: { name: x, verify: { standardWebhooks: { secrets: ["whsec_!!"] } } } }\npublish: { topic: t }\n',
    )
    write('c.yaml', 'from: { hook: { name: d, verify: { none: true } } }\npublish: { topic: t }\n')
    write('d.yaml', 'from: { hook: { verify: { none: true } } }\npublish: { topic: t }\n')
    const out = messages()
    expect(
      out.some((m) => /a\.yaml:1:\d+: from\.hook\.verify\.bearer\.token: use at least 16 characters/.test(m)),
    ).toBe(true)
    expect(out.some((m) => /a\.yaml:2:\d+: publish\.topic: .*must not contain '\+'/.test(m))).toBe(true)
    expect(out.some((m) => /b\.yaml:1:\d+: from\.hook\.verify\.standardWebhooks\.secrets\[0\]: .*base64/.test(m))).toBe(
      true,
    )
    expect(out.some((m) => /d\.yaml: from\.hook\.name: hook "d" is already served by rule "c"/.test(m))).toBe(true)
  })

  it('report JSONata and template mistakes', () => {
    write('a.yaml', 'from: { hook: { verify: { none: true } } }\ntransform: "{ a: "\npublish: { topic: "x/{body.(" }\n')
    const out = messages()
    expect(out.some((m) => /a\.yaml:2:\d+: transform: invalid JSONata/.test(m))).toBe(true)
    expect(out.some((m) => /a\.yaml:3:\d+: publish\.topic: /.test(m))).toBe(true)
  })
})
