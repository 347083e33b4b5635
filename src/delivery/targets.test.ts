import { describe, expect, it } from 'vitest'
import { type CompileIssue, compileRule } from '../rules/compile.js'
import { createRuleSet, type RuleSet } from '../rules/rule-set.js'
import { ruleSchema } from '../rules/schema.js'
import { createTargetLookup } from './targets.js'

function ruleSetWith(timeoutMs: number): RuleSet {
  const issues: CompileIssue[] = []
  const definition = ruleSchema.parse({
    from: { topic: 'devices/+/events' },
    to: { url: 'http://127.0.0.1:9/hook', timeoutMs },
  })
  const rule = compileRule(definition, 'events', 'events.yaml', { env: {} }, issues)
  expect(issues).toEqual([])
  return createRuleSet([rule!])
}

describe('createTargetLookup', () => {
  it('describes a job target once per compiled rule, and again after a reload', () => {
    let rules = ruleSetWith(1500)
    const targetOf = createTargetLookup(() => rules, 10_000)
    const job = { rule: 'events', target: rules.get('events')!.targets[0]!.name }
    const first = targetOf(job)
    expect(first?.timeoutMs).toBe(1500)
    expect(first?.loopingFilter?.('devices/a/events')).toBe('devices/+/events')
    expect(targetOf(job)).toBe(first)

    rules = ruleSetWith(2500) // a reload: new compiled rules
    const reloaded = targetOf(job)
    expect(reloaded).not.toBe(first)
    expect(reloaded?.timeoutMs).toBe(2500)
  })

  it('knows nothing of a removed rule, and uses the default timeout for an unknown target', () => {
    const rules = ruleSetWith(1500)
    const targetOf = createTargetLookup(() => rules, 10_000)
    expect(targetOf({ rule: 'gone', target: '0' })).toBeUndefined()
    expect(targetOf({ rule: 'events', target: 'no-such-target' })?.timeoutMs).toBe(10_000)
  })
})
