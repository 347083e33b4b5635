import { describe, expect, it } from 'vitest'
import type { DryRunOutcome } from './dry-run.js'
import { compareOutcome, differingPaths, formatDiff } from './fixture-diff.js'
import { expectationSchema } from './fixture-schema.js'

const request = (body: string | Buffer, headers: Record<string, string> = {}) => ({
  target: '0',
  method: 'POST',
  url: 'http://h/x',
  headers: { 'content-type': 'application/json', 'x-hookbridge-rule': 'r', ...headers },
  body: Buffer.from(body),
})
const sent = (...requests: ReturnType<typeof request>[]): DryRunOutcome => ({ matched: true, requests })
const compare = (expect: unknown, outcome: DryRunOutcome) => compareOutcome(expectationSchema.parse(expect), outcome)

describe('comparing a fixture outcome', () => {
  it('checks only the headers the fixture names, by name in any case', () => {
    const outcome = sent(request('{}', { 'x-a': '1' }))
    expect(compare({ requests: [{ headers: { 'X-A': '1' } }] }, outcome).ok).toBe(true)
    expect(compare({ requests: [{ headers: { 'x-a': '2' } }] }, outcome).ok).toBe(false)
    expect(compare({ requests: [{ headers: { 'x-b': '1' } }] }, outcome).ok).toBe(false)
    expect(compare({ requests: [{ method: 'post', url: 'http://h/x' }] }, outcome).ok).toBe(true)
  })

  it('compares a JSON body by value, and a string with the body text', () => {
    const outcome = sent(request('{"b":2,"a":[1]}'))
    expect(compare({ requests: [{ body: { a: [1], b: 2 } }] }, outcome).ok).toBe(true)
    expect(compare({ requests: [{ body: '{"b":2,"a":[1]}' }] }, outcome).ok).toBe(true)
    expect(compare({ requests: [{ body: { a: [1] } }] }, outcome).ok).toBe(false)
    expect(compare({ requests: [{ body: 'hi' }] }, sent(request('hi'))).ok).toBe(true)
    expect(compare({ requests: [{ body: 'hi' }] }, sent(request('"hi"'))).ok).toBe(true)
    expect(compare({ requests: [{ bodyBase64: '/wA=' }] }, sent(request(Buffer.from([255, 0])))).ok).toBe(true)
  })

  it('expects one request per target, and the right kind of outcome', () => {
    expect(compare({ requests: [{}] }, sent(request('1'), request('2'))).ok).toBe(false)
    expect(compare({ skipped: true }, { matched: true, skipped: 'empty-transform' }).ok).toBe(true)
    expect(compare({ skipped: 'when' }, { matched: true, skipped: 'empty-transform' }).ok).toBe(false)
    expect(compare({ matches: false }, { matched: false }).ok).toBe(true)
    expect(compare({ matches: false }, { matched: true, skipped: 'when' }).ok).toBe(false)
    const failed: DryRunOutcome = { matched: true, error: { code: 'HOOKBRIDGE_TEMPLATE_FAILED', message: 'Rule r: x' } }
    expect(compare({ error: { code: 'HOOKBRIDGE_TEMPLATE_FAILED' } }, failed).ok).toBe(true)
    expect(compare({ error: { code: 'HOOKBRIDGE_TEMPLATE_FAILED', message: 'r: x' } }, failed).ok).toBe(true)
    expect(compare({ error: { code: 'HOOKBRIDGE_TEMPLATE_FAILED', message: 'y' } }, failed).ok).toBe(false)
  })
})

describe('the diff of a failed case', () => {
  it('prints expected (-) and actual (+) as JSON, line by line, with the fields that differ', () => {
    const { expected, actual } = compare(
      { requests: [{ url: 'http://h/y', body: { a: 1, b: 'same' } }] },
      sent(request('{"b":"same","a":2}')),
    )
    expect(formatDiff(expected, actual)).toBe(
      [
        'differs at: requests[0].url, requests[0].body.a',
        '- expected',
        '+ actual',
        '  {',
        '    "requests": [',
        '      {',
        '-       "url": "http://h/y",',
        '+       "url": "http://h/x",',
        '        "body": {',
        '-         "a": 1,',
        '+         "a": 2,',
        '          "b": "same"',
        '        }',
        '      }',
        '    ]',
        '  }',
      ].join('\n'),
    )
  })

  it('shows the whole actual outcome when it is of another kind', () => {
    const { expected, actual } = compare({ skipped: true }, sent(request('{"a":1}')))
    expect(actual).toEqual({ requests: [{ method: 'POST', url: 'http://h/x', body: { a: 1 } }] })
    expect(formatDiff(expected, actual).split('\n').slice(0, 6)).toEqual([
      'differs at: skipped, requests',
      '- expected',
      '+ actual',
      '  {',
      '-   "skipped": true',
      '+   "requests": [',
    ])
  })

  it('names the paths that differ', () => {
    expect(differingPaths({ a: [1, { b: 2 }] }, { a: [1, { b: 3 }, 4] })).toEqual(['a[1].b', 'a[2]'])
    expect(differingPaths(1, 2)).toEqual(['(the whole outcome)'])
    expect(differingPaths({ a: 1 }, { a: 1 })).toEqual([])
  })
})
