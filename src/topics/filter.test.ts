import { describe, expect, it } from 'vitest'
import { HookbridgeError } from '../errors.js'
import { extractParams, matches, parseFilter, validateTopic } from './filter.js'

function errorOf(fn: () => unknown): HookbridgeError {
  try {
    fn()
  } catch (err) {
    if (err instanceof HookbridgeError) return err
    throw err
  }
  throw new Error('expected a HookbridgeError, but nothing was thrown')
}

describe('validateTopic', () => {
  it('accepts ordinary topics, empty levels and multi-byte characters', () => {
    for (const topic of ['a', 'sensors/d1/temperature', '/', 'a//b', 'a/$b', 'température/é/😀']) {
      expect(() => validateTopic(topic)).not.toThrow()
    }
  })

  it('rejects an empty topic', () => {
    const err = errorOf(() => validateTopic(''))
    expect(err.code).toBe('HOOKBRIDGE_TOPIC_INVALID')
    expect(err.status).toBe(400)
    expect(err.details).toEqual({ topic: '', detail: 'a topic must not be empty; give at least one character' })
    expect(err.message).toBe('Invalid topic "": a topic must not be empty; give at least one character')
  })

  it.each(['+', '#'])("rejects the wildcard '%s'", (wildcard) => {
    const err = errorOf(() => validateTopic(`a/${wildcard}/b`))
    expect(err.code).toBe('HOOKBRIDGE_TOPIC_INVALID')
    expect(err.message).toBe(
      `Invalid topic "a/${wildcard}/b": a topic to publish to must not contain '${wildcard}'; wildcards belong in subscription filters only`,
    )
  })

  it('rejects NUL and unpaired surrogates', () => {
    expect(errorOf(() => validateTopic('a\0b')).message).toContain('must not contain the NUL character (U+0000)')
    expect(errorOf(() => validateTopic('a/\uD800')).message).toContain('must be valid UTF-8')
    expect(errorOf(() => validateTopic('\uDC00x')).message).toContain('must be valid UTF-8')
  })

  it("rejects topics starting with '$' unless allowDollar", () => {
    const err = errorOf(() => validateTopic('$SYS/x'))
    expect(err.code).toBe('HOOKBRIDGE_TOPIC_INVALID')
    expect(err.message).toContain("topics starting with '$' are reserved for the broker")
    expect(() => validateTopic('$SYS/x', { allowDollar: true })).not.toThrow()
  })

  it('counts the length in bytes of UTF-8, up to 65535 by default', () => {
    expect(() => validateTopic('a'.repeat(65535))).not.toThrow()
    expect(errorOf(() => validateTopic('a'.repeat(65536))).details.detail).toBe(
      'a topic may be at most 65535 bytes of UTF-8, this one is 65536; shorten it',
    )
    expect(() => validateTopic('éé', { maxBytes: 4 })).not.toThrow()
    expect(errorOf(() => validateTopic('ééa', { maxBytes: 4 })).message).toContain('at most 4 bytes')
  })
})

describe('parseFilter', () => {
  it('strips wildcard names and records them as params', () => {
    expect(parseFilter('sensors/+device/#rest')).toEqual({
      source: 'sensors/+device/#rest',
      mqttFilter: 'sensors/+/#',
      subscription: 'sensors/+/#',
      levels: ['sensors', '+', '#'],
      params: [
        { name: 'device', level: 1, multi: false },
        { name: 'rest', level: 2, multi: true },
      ],
    })
  })

  it('keeps plain filters, empty levels and $ levels as written', () => {
    for (const source of ['#', '+', 'a/b', '/', 'a//b/', '+/+/#', '$SYS/#', 'a/$x/+']) {
      const parsed = parseFilter(source)
      expect(parsed.mqttFilter).toBe(source)
      expect(parsed.subscription).toBe(source)
      expect(parsed.levels).toEqual(source.split('/'))
      expect(parsed.params).toEqual([])
      expect(parsed).not.toHaveProperty('shareGroup')
    }
  })

  it('splits off a $share prefix', () => {
    expect(parseFilter('$share/workers/a/+id')).toEqual({
      source: '$share/workers/a/+id',
      mqttFilter: 'a/+',
      subscription: '$share/workers/a/+',
      shareGroup: 'workers',
      levels: ['a', '+'],
      params: [{ name: 'id', level: 1, multi: false }],
    })
    expect(parseFilter('$share/g/#').levels).toEqual(['#'])
  })

  it('accepts the longest filter and names with underscores and digits', () => {
    expect(() => parseFilter('a'.repeat(65535))).not.toThrow()
    expect(parseFilter('+_/+a_1/+B9').params.map((p) => p.name)).toEqual(['_', 'a_1', 'B9'])
  })

  const invalid: Array<[string, string]> = [
    ['', 'a filter must not be empty; use "#" to match every topic'],
    ['a/\0', 'a filter must not contain the NUL character (U+0000); remove it'],
    ['a/\uD83D', 'a filter must be valid UTF-8, but it contains an unpaired surrogate'],
    ['a/#/b', "'#' must be the last level (level 2 of 3); move it to the end or use '+'"],
    ['#rest/b', "'#' must be the last level (level 1 of 2); move it to the end or use '+'"],
    ['a/b#', "'#' must be alone in its level (level 2 is 'b#'); write '#' or '#name'"],
    ['a+/b', "'+' must be alone in its level (level 1 is 'a+'); write '+' or '+name'"],
    ['+id#', "'#' must be alone in its level (level 1 is '+id#'); write '#' or '#name'"],
    ['a/+1x', "'1x' (level 2) is not a valid wildcard name: start with a letter or '_', then letters, digits or '_'"],
    ['++', "'+' (level 1) is not a valid wildcard name: start with a letter or '_', then letters, digits or '_'"],
    [
      '+my-id',
      "'my-id' (level 1) is not a valid wildcard name: start with a letter or '_', then letters, digits or '_'",
    ],
    ['+id/+id', "the wildcard name 'id' is used twice; give each wildcard its own name"],
    ['+id/#id', "the wildcard name 'id' is used twice; give each wildcard its own name"],
    ['+__proto__', "'__proto__' (level 1) is reserved; choose another wildcard name"],
    ['$share', "write a shared subscription as '$share/<group>/<filter>': the group or the filter is missing"],
    ['$share/g', "write a shared subscription as '$share/<group>/<filter>': the group or the filter is missing"],
    ['$share//a', "write a shared subscription as '$share/<group>/<filter>': the group name must not be empty"],
    [
      '$share/g+/a',
      "write a shared subscription as '$share/<group>/<filter>': the group name must not contain '+' or '#'",
    ],
    [
      '$share/g/',
      "write a shared subscription as '$share/<group>/<filter>': the filter after the group must not be empty",
    ],
    ['$share/g/a/#/b', "'#' must be the last level (level 2 of 3); move it to the end or use '+'"],
  ]

  it.each(invalid)('rejects %j', (source, detail) => {
    const err = errorOf(() => parseFilter(source))
    expect(err.code).toBe('HOOKBRIDGE_FILTER_INVALID')
    expect(err.status).toBe(400)
    expect(err.details).toEqual({ filter: source, detail })
    expect(err.message).toBe(`Invalid topic filter "${source}": ${detail}`)
  })

  it('rejects a filter over 65535 bytes of UTF-8', () => {
    const err = errorOf(() => parseFilter('é'.repeat(32768)))
    expect(err.code).toBe('HOOKBRIDGE_FILTER_INVALID')
    expect(err.details.detail).toBe('a filter may be at most 65535 bytes of UTF-8, this one is 65536; shorten it')
  })
})

describe('matches', () => {
  // The examples of MQTT 3.1.1 / 5 section 4.7, plus the edges around empty levels and '$'.
  const cases: Array<[string, string, boolean]> = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['#', '$SYS/uptime', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['#', 'a/$SYS', true],
    ['a//b', 'a//b', true],
    ['a//b', 'a/b', false],
    ['a/b', 'a/b/', false],
    ['ACCOUNTS', 'Accounts', false],
  ]

  it.each(cases)('%j against %j is %j', (filter, topic, expected) => {
    expect(matches(filter, topic)).toBe(expected)
  })
})

describe('extractParams', () => {
  it('returns the named captures, or null when the topic does not match', () => {
    const parsed = parseFilter('sensors/+device/#rest')
    expect(extractParams(parsed, 'sensors/d1/a/b')).toEqual({ device: 'd1', rest: 'a/b' })
    expect(extractParams(parsed, 'sensors/d1')).toEqual({ device: 'd1', rest: '' })
    expect(extractParams(parsed, 'other/d1')).toBeNull()
    expect(extractParams(parseFilter('a/+'), 'a/b')).toEqual({})
    expect(extractParams(parseFilter('#all'), '$SYS/x')).toBeNull()
    expect(extractParams(parseFilter('$share/g/+id'), 'x')).toEqual({ id: 'x' })
  })
})
