import jsonata from 'jsonata'
import { describe, expect, it } from 'vitest'
import { compileFast, FALLBACK } from './jsonata-fast.js'

// The fast path must give exactly what the interpreter gives, or step aside (FALLBACK). Every expression below is
// evaluated both ways over generated inputs, including missing fields, wrong types, arrays and nulls.

const FAST = [
  '{ "device": $split(topic, "/")[1], "run": payload.run, "seq": payload.seq, "t": payload.t, "fahrenheit": payload.celsius * 9 / 5 + 32, "humidity": payload.humidity, "alert": payload.celsius > 30 }',
  'payload.celsius > 30',
  'payload.celsius >= 30 and payload.ok',
  'payload.ok or payload.celsius < -5',
  'payload.name = "kitchen"',
  'payload.name != "kitchen"',
  'payload.celsius = 21.5',
  'payload.nested.value',
  'payload.nested.value * 2 - 1',
  'payload.celsius % 7',
  '-payload.celsius',
  'payload.name & "-" & topic',
  '$lowercase(payload.name)',
  '$uppercase(payload.name)',
  '$exists(payload.missing)',
  '$exists(payload.celsius)',
  '$not(payload.ok)',
  '$number(payload.celsius)',
  'payload.ok ? "on" : "off"',
  'payload.celsius > 30 ? { "level": "hot", "c": payload.celsius } : null',
  'payload.ok ? payload.celsius',
  '[payload.celsius, payload.name, [1, 2], payload.missing]',
  '[payload.ok ? [1] : 2]',
  '{ "a": { "b": payload.nested, "c": params.room }, "q": qos, "r": retain }',
  '$split(topic, "/")[-1]',
  '$split(topic, "/")[9]',
  '$split(payload.name, "e")[0]',
  '$.payload.celsius',
  '$$.topic',
  'payload',
  '"literal"',
  '42',
  'true',
  'null',
  'payload.celsius / payload.zero',
  'payload.big * payload.big',
  'payload.readings.value',
]

const SLOW = [
  'payload.readings[0]',
  'payload.readings[value > 3]',
  'payload.*',
  '**.celsius',
  '$map(payload.readings, function($v) { $v * 2 })',
  '($x := 5; $x + 1)',
  '$string(payload.celsius)',
  '$split(topic, "/")',
  '$sum(payload.readings)',
  '{ payload.name: 1 }',
  '{ "a": 1, "a": 2 }',
  '{ "__proto__": 1 }',
  'payload.constructor',
  '$now()',
  '$myBinding',
  'payload.name ~> $uppercase',
  '/ab+c/i',
  'payload.celsius in [1, 2]',
  '[1..5]',
  'payload{ "x": 1 }',
]

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function anyValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 1 ? 7 : 9))
  switch (pick) {
    case 0:
      return undefined
    case 1:
      return null
    case 2:
      return Math.round((next() * 80 - 20) * 10) / 10
    case 3:
      return ['kitchen', 'Hall', '', 'a/b', 'e'][Math.floor(next() * 5)]
    case 4:
      return next() < 0.5
    case 5:
      return 0
    case 6:
      return Math.floor(next() * 5)
    case 7:
      return [1, 'x', { value: 4 }].slice(0, Math.floor(next() * 4))
    default:
      return { value: anyValue(next, depth + 1), other: anyValue(next, depth + 1) }
  }
}

function envelopeOf(next: () => number): Record<string, unknown> {
  const payload: Record<string, unknown> = {}
  for (const key of ['celsius', 'name', 'ok', 'nested', 'run', 'seq', 't', 'humidity', 'zero', 'big', 'readings']) {
    const value = key === 'big' ? 1e200 : anyValue(next)
    if (value !== undefined) payload[key] = value
  }
  const topics = ['bench/dev-1/data', 'sensors/kitchen/temperature', 'a', '']
  return {
    topic: topics[Math.floor(next() * topics.length)],
    params: { room: 'kitchen' },
    payload: next() < 0.1 ? 'not json' : payload,
    qos: 1,
    retain: false,
    properties: {},
    receivedAt: 1,
  }
}

type Outcome = { value: unknown } | { error: string }

async function interpreted(expression: jsonata.Expression, input: unknown): Promise<Outcome> {
  try {
    const value = await expression.evaluate(input)
    return { value: Array.isArray(value) ? Array.from(value) : value }
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) }
  }
}

const json = (value: unknown) => (value === undefined ? 'undefined' : JSON.stringify(value))

describe('compileFast', () => {
  it.each(FAST)('compiles %s', (source) => {
    expect(compileFast(jsonata(source).ast())).toBeTypeOf('function')
  })

  it.each(SLOW)('leaves %s to the interpreter', (source) => {
    expect(compileFast(jsonata(source).ast())).toBeUndefined()
  })

  it.each(FAST)('gives what the interpreter gives for %s', async (source) => {
    const expression = jsonata(source)
    const fast = compileFast(expression.ast())!
    const next = random(source.length * 7919)
    let taken = 0
    for (let i = 0; i < 400; i++) {
      const input = envelopeOf(next)
      const expected = await interpreted(expression, input)
      const got = fast(input)
      if (got === FALLBACK) continue
      taken++
      expect('value' in expected, `${json(input)} -> interpreter error ${json(expected)}, fast ${json(got)}`).toBe(true)
      expect(json(got), json(input)).toBe(json((expected as { value: unknown }).value))
    }
    // Plain inputs take the fast path: a compiler that always stepped aside would be no fast path at all.
    expect(taken).toBeGreaterThan(20)
  })

  it('steps aside for an array input (the interpreter maps over it)', () => {
    expect(compileFast(jsonata('payload').ast())!([{ payload: 1 }])).toBe(FALLBACK)
  })

  it('takes the fast path for every well-formed bench message', async () => {
    const expression = jsonata(FAST[0]!)
    const fast = compileFast(expression.ast())!
    const input = {
      topic: 'bench/dev-7/data',
      params: {},
      payload: { run: 1, seq: 2, t: 3.5, celsius: 31.5, humidity: 40 },
      qos: 1,
      retain: false,
      properties: {},
      receivedAt: 0,
    }
    const got = fast(input)
    expect(got).toEqual({ device: 'dev-7', run: 1, seq: 2, t: 3.5, fahrenheit: 88.7, humidity: 40, alert: true })
    expect(json(got)).toBe(json(await expression.evaluate(input)))
  })
})
