// Which rules a message goes to, and through which copy: a broker sends one copy per matching subscription (MQTT 5
// tells them apart by subscription identifier), and each rule must deliver exactly one of them.
import { describe, expect, it } from 'vitest'
import { compileRule } from './compile.js'
import { createRuleSet } from './rule-set.js'
import { ruleSchema } from './schema.js'

function ruleSet(definitions: Record<string, string | string[]>) {
  const issues: never[] = []
  const rules = Object.entries(definitions).map(([name, topic]) => {
    const definition = ruleSchema.parse({ from: { topic }, to: { url: `http://h/${name}` } })
    return compileRule(definition, name, `${name}.yaml`, { env: {} }, issues)!
  })
  expect(issues).toEqual([])
  return createRuleSet(rules)
}

const names = (matches: ReturnType<ReturnType<typeof ruleSet>['match']>) => matches.map((m) => m.rule.name).sort()

describe('rule set', () => {
  it('matches one rule by topic, with its params, whether or not the copy names its subscription', () => {
    const set = ruleSet({ temps: 'dev/+id/t' })
    expect(set.match('dev/d1/t')).toEqual([{ rule: set.get('temps'), params: { id: 'd1' } }])
    expect(set.match('dev/d1/t', new Set(['dev/+/t']))).toEqual([{ rule: set.get('temps'), params: { id: 'd1' } }])
    expect(set.match('dev/d1/h')).toEqual([])
  })

  it("does not deliver a copy that came through another subscription (a live one's) than the rule's", () => {
    const set = ruleSet({ temps: 'dev/+/t' })
    expect(set.match('dev/d1/t', new Set(['dev/#']))).toEqual([])
  })

  it('delivers each rule once across the copies of overlapping subscriptions', () => {
    const set = ruleSet({ all: 'home/#', kitchen: 'home/kitchen/+', both: ['home/+/light', 'home/kitchen/#'] })
    const topic = 'home/kitchen/light'
    expect(names(set.match(topic))).toEqual(['all', 'both', 'kitchen'])
    // One copy per subscription: together they deliver each rule exactly once.
    const perCopy = ['home/#', 'home/kitchen/+', 'home/+/light', 'home/kitchen/#'].map((filter) =>
      names(set.match(topic, new Set([filter]))),
    )
    expect(perCopy.flat().sort()).toEqual(['all', 'both', 'kitchen'])
  })
})
