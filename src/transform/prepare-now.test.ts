// The immediate path (prepare-now.ts) must give exactly what the asynchronous one gives: the same jobs, skips and
// failures, for every kind of plain rule and message. Each case is prepared by prepareDeliveries (a plain rule
// goes the immediate way) and by prepareLater, the asynchronous path, with the rule's fast path hidden from it
// (`evaluateNow` removed) so that its expressions go through the same calls the interpreter's results do.
import { describe, expect, it } from 'vitest'
import { type CompiledRule, compileRule } from '../rules/compile.js'
import { ruleSchema } from '../rules/schema.js'
import type { SourceMessage } from '../spool/spool.js'
import { createEnvelope, decodePayload as decode } from './envelope.js'
import type { CompiledExpression } from './jsonata.js'
import { prepareDeliveries, prepareLater } from './prepare.js'
import { isPlain } from './prepare-now.js'

function compile(definition: unknown): CompiledRule {
  const issues: { path: (string | number)[]; message: string }[] = []
  const compiled = compileRule(ruleSchema.parse(definition), 'r', 'r.yaml', { env: {} }, issues)
  expect(issues).toEqual([])
  return compiled!
}

const interpreted = (e: CompiledExpression | undefined) => e && { source: e.source, evaluate: e.evaluate }

/** The same rule, its expressions evaluated only the asynchronous way. */
const withoutFastPath = (rule: CompiledRule): CompiledRule => ({
  ...rule,
  when: interpreted(rule.when),
  transform: interpreted(rule.transform),
  orderBy: interpreted(rule.orderBy),
})

function message(payload: string, extra: Partial<SourceMessage> = {}): SourceMessage {
  return {
    topic: 'dev/d1/t',
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
    receivedAt: 1_700_000_000_000,
    ...extra,
  }
}

const url = 'http://hook.test/in'
const cases: Array<[string, unknown, SourceMessage]> = [
  ['a transform', { transform: '{ "id": params.id, "f": payload.c * 9 / 5 + 32 }' }, message('{"c":21.5}')],
  ['no transform, JSON', {}, message('{"a":1}')],
  ['no transform, text', {}, message('plain text')],
  ['no transform, an MQTT 5 content type', {}, message('x', { properties: { contentType: 'text/csv' } })],
  ['when true', { when: 'payload.c > 20', transform: '{ "c": payload.c }' }, message('{"c":21}')],
  ['when false: skipped', { when: 'payload.c > 20', transform: '{ "c": payload.c }' }, message('{"c":19}')],
  ['a transform with no result: skipped', { transform: 'payload.missing' }, message('{"c":1}')],
  ['a sequence result', { transform: 'payload.list.v' }, message('{"list":[{"v":1},{"v":2}]}')],
  ['orderBy a string', { orderBy: 'params.id', transform: '{ "c": payload.c }' }, message('{"c":1}')],
  ['orderBy a number', { orderBy: 'payload.c', transform: '{ "c": payload.c }' }, message('{"c":7}')],
  ['orderBy nothing', { orderBy: 'payload.none', transform: '{ "c": payload.c }' }, message('{"c":7}')],
  ['when an array of falses: skipped', { when: 'payload.flags' }, message('{"flags":[false,false]}')],
  ['when an array with one true', { when: 'payload.flags' }, message('{"flags":[false,true]}')],
  ['orderBy null', { orderBy: 'payload.n' }, message('{"n":null}')],
  ['orderBy an object', { orderBy: 'payload.o' }, message('{"o":{"a":1}}')],
  ['orderBy over two targets', { orderBy: 'params.id', to: [{ url }, { url: `${url}/2` }] }, message('{"c":1}')],
  ['GET: no body, no content type', { to: { url, method: 'GET' } }, message('{"c":1}')],
  ['literal headers', { to: { url, headers: { 'x-static': 'yes', authorization: 'Bearer t' } } }, message('{}')],
  ['a non-ASCII topic', { transform: '{ "t": topic }' }, message('{}', { topic: 'dev/d1/tëmp' })],
  [
    'trace context from user properties',
    {},
    message('{}', {
      properties: { userProperties: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } },
    }),
  ],
  ['a transform that fails', { transform: '{ "x": $number(payload.s) }' }, message('{"s":"not a number"}')],
  ['an input the fast path leaves to JSONata', { transform: '{ "c": payload.c }' }, message('[1, 2]')],
]

describe('preparing at once', () => {
  for (const [name, extra, msg] of cases) {
    it(`gives what the asynchronous path gives: ${name}`, async () => {
      const definition = { from: { topic: 'dev/+id/t' }, to: { url }, ...(extra as object) }
      const rule = compile(definition)
      expect(isPlain(rule)).toBe(true)
      const decoded = decode(msg.payload)
      const now = prepareDeliveries(rule, { id: 'd1' }, msg, decoded, 'm1')
      const envelope = createEnvelope(msg, decoded, { id: 'd1' })
      const later = prepareLater(withoutFastPath(rule), msg, decoded, 'm1', envelope)
      expect(await now).toEqual(await later)
    })
  }

  it('prepares a plain rule without a promise, and a rule with a computed URL with one', () => {
    const msg = message('{"c":1}')
    const prepare = (definition: object) =>
      prepareDeliveries(
        compile({ from: { topic: 'dev/+id/t' }, ...definition }),
        { id: 'd1' },
        msg,
        decode(msg.payload),
        'm1',
      )
    expect(prepare({ transform: '{ "c": payload.c }', to: { url } })).not.toBeInstanceOf(Promise)
    expect(prepare({ to: { url: 'http://hook.test/{params.id}' } })).toBeInstanceOf(Promise)
    expect(prepare({ to: { url, headers: { 'x-device': '{params.id}' } } })).toBeInstanceOf(Promise)
    expect(prepare({ to: { url, cloudEvents: { mode: 'binary' } } })).toBeInstanceOf(Promise)
  })
})
