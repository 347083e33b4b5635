// The behaviour every TopicMatcher must have; reference-matcher.test.ts and trie-matcher.test.ts run it.
import { describe, expect, it } from 'vitest'
import { parseFilter } from './filter.js'
import type { TopicMatcher } from './matcher.js'

type Hit = { value: string; params: Record<string, string> }

/** A matcher holding one entry per filter, the value being the filter's source. */
function matcherOf(factory: <T>() => TopicMatcher<T>, ...filters: string[]): TopicMatcher<string> {
  const m = factory<string>()
  for (const f of filters) m.add(parseFilter(f), f)
  return m
}

/** The hits in a stable order, since matchers do not promise one. */
function hits(m: TopicMatcher<string>, topic: string): Hit[] {
  return m.match(topic).sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
}

const values = (m: TopicMatcher<string>, topic: string): string[] => hits(m, topic).map((h) => h.value)

export function runMatcherSuite(name: string, factory: <T>() => TopicMatcher<T>): void {
  describe(`${name}: matching`, () => {
    it('matches an exact filter level by level, case-sensitively', () => {
      const m = matcherOf(factory, 'a/b')
      expect(values(m, 'a/b')).toEqual(['a/b'])
      for (const topic of ['a', 'a/b/c', 'a/c', 'A/b', 'a/b/', '/a/b']) expect(values(m, topic)).toEqual([])
    })

    it("matches '+' to exactly one level, including an empty one", () => {
      const m = matcherOf(factory, 'a/+/c')
      for (const topic of ['a/b/c', 'a//c']) expect(values(m, topic)).toEqual(['a/+/c'])
      for (const topic of ['a/b/d', 'a/c', 'a/b/c/d', 'a/b/c/']) expect(values(m, topic)).toEqual([])
      const two = matcherOf(factory, '+/+')
      expect(values(two, '/')).toEqual(['+/+'])
      expect(values(two, 'x/y')).toEqual(['+/+'])
      expect(values(two, 'x')).toEqual([])
    })

    it("matches '#' to its level and everything below", () => {
      const m = matcherOf(factory, '#', 'a/#')
      expect(values(m, 'a/b/c')).toEqual(['#', 'a/#'])
      expect(values(m, 'a/')).toEqual(['#', 'a/#'])
      expect(values(m, 'ab/c')).toEqual(['#'])
      expect(values(m, '/a')).toEqual(['#'])
    })

    it("matches 'a/#' to the parent level 'a' too", () => {
      const m = matcherOf(factory, 'a/#', 'a/b/#', 'a/+/#')
      expect(values(m, 'a')).toEqual(['a/#'])
      expect(values(m, 'a/b')).toEqual(['a/#', 'a/+/#', 'a/b/#'])
    })

    it('treats empty levels as levels', () => {
      const m = matcherOf(factory, 'a//b', '/a', 'a/', 'a/b')
      expect(values(m, 'a//b')).toEqual(['a//b'])
      expect(values(m, '/a')).toEqual(['/a'])
      expect(values(m, 'a/')).toEqual(['a/'])
      expect(values(m, 'a')).toEqual([])
    })

    it("does not match topics starting with '$' by a filter starting with '+' or '#'", () => {
      const m = matcherOf(factory, '#', '+', '+/+', '+/broker/#', '$SYS/#', '$SYS/+', '$SYS')
      expect(values(m, '$SYS')).toEqual(['$SYS', '$SYS/#'])
      expect(values(m, '$SYS/uptime')).toEqual(['$SYS/#', '$SYS/+'])
      expect(values(m, '$SYS/broker/load')).toEqual(['$SYS/#'])
      expect(values(m, '$')).toEqual([])
    })

    it("matches '$' in levels after the first like any other character", () => {
      const m = matcherOf(factory, '#', 'a/+', 'a/$x')
      expect(values(m, 'a/$x')).toEqual(['#', 'a/$x', 'a/+'])
    })
  })

  describe(`${name}: named wildcards`, () => {
    it("captures '+name' as one level", () => {
      const m = matcherOf(factory, 'sensors/+device/temperature')
      expect(hits(m, 'sensors/d1/temperature')).toEqual([
        { value: 'sensors/+device/temperature', params: { device: 'd1' } },
      ])
      expect(hits(m, 'sensors//temperature')[0].params).toEqual({ device: '' })
    })

    it("captures '#name' as the remaining levels, '' when it matched the parent only", () => {
      const m = matcherOf(factory, 'sensors/+device/#rest')
      expect(hits(m, 'sensors/d1/a/b/c')[0].params).toEqual({ device: 'd1', rest: 'a/b/c' })
      expect(hits(m, 'sensors/d1/a')[0].params).toEqual({ device: 'd1', rest: 'a' })
      expect(hits(m, 'sensors/d1/a//')[0].params).toEqual({ device: 'd1', rest: 'a//' })
      expect(hits(m, 'sensors/d1')[0].params).toEqual({ device: 'd1', rest: '' })
      expect(hits(matcherOf(factory, '#all'), 'x/y/z')[0].params).toEqual({ all: 'x/y/z' })
    })

    it('gives plain wildcards no params', () => {
      expect(hits(matcherOf(factory, '+/#'), 'a/b/c')).toEqual([{ value: '+/#', params: {} }])
    })

    it('keeps apart filters that differ only in their names', () => {
      const m = matcherOf(factory, 'a/+x', 'a/+y', 'a/+')
      expect(hits(m, 'a/1')).toEqual([
        { value: 'a/+', params: {} },
        { value: 'a/+x', params: { x: '1' } },
        { value: 'a/+y', params: { y: '1' } },
      ])
    })
  })

  describe(`${name}: entries`, () => {
    it('returns a value once for every one of its filters that matches', () => {
      const m = factory<string>()
      for (const f of ['a/+', 'a/b', '#', 'c']) m.add(parseFilter(f), 'rule')
      expect(m.size).toBe(4)
      expect(m.match('a/b').map((h) => h.value)).toEqual(['rule', 'rule', 'rule'])
    })

    it('returns every value of a filter', () => {
      const m = factory<{ id: number }>()
      const one = { id: 1 }
      const two = { id: 2 }
      m.add(parseFilter('a/+'), one)
      m.add(parseFilter('a/+'), two)
      expect(m.size).toBe(2)
      const found = m.match('a/b').map((h) => h.value)
      expect(found).toHaveLength(2)
      expect(found).toContain(one)
      expect(found).toContain(two)
    })

    it('adds a (filter, value) pair only once', () => {
      const m = matcherOf(factory, 'a/b', 'a/b')
      m.add(parseFilter('a/b'), 'a/b')
      expect(m.size).toBe(1)
      expect(values(m, 'a/b')).toEqual(['a/b'])
    })

    it('removes only that value for that filter, found by its source', () => {
      const m = matcherOf(factory, 'a/b/c', 'a/b', 'a/#', 'a/+x', 'a/+')
      m.add(parseFilter('a/b'), 'other')
      m.remove(parseFilter('a/b'), 'a/b')
      expect(m.size).toBe(5)
      expect(values(m, 'a/b')).toEqual(['a/#', 'a/+', 'a/+x', 'other'])
      m.remove(parseFilter('a/+x'), 'a/+x')
      expect(values(m, 'a/b')).toEqual(['a/#', 'a/+', 'other'])
      expect(values(m, 'a/b/c')).toEqual(['a/#', 'a/b/c'])
    })

    it('ignores removing an entry that is not there', () => {
      const m = matcherOf(factory, 'a/b')
      m.remove(parseFilter('a/b'), 'nope')
      m.remove(parseFilter('a/b/c'), 'a/b')
      m.remove(parseFilter('x/#'), 'x/#')
      expect(m.size).toBe(1)
      expect(values(m, 'a/b')).toEqual(['a/b'])
    })

    it('is empty after removing everything, and can be filled again', () => {
      const filters = ['a/b', 'a/#', '+/b', '#', '$SYS/#', 'a//b']
      const m = matcherOf(factory, ...filters)
      for (const f of filters) m.remove(parseFilter(f), f)
      expect(m.size).toBe(0)
      for (const topic of ['a/b', 'a', '$SYS/x', 'a//b']) expect(values(m, topic)).toEqual([])
      m.add(parseFilter('a/#'), 'again')
      expect(values(m, 'a/b')).toEqual(['again'])
    })
  })

  describe(`${name}: shared subscriptions`, () => {
    it('matches a $share filter like its inner filter, as an entry of its own', () => {
      const m = matcherOf(factory, '$share/g/a/+id', '$share/h/a/+id', 'a/+id')
      expect(hits(m, 'a/7')).toEqual([
        { value: '$share/g/a/+id', params: { id: '7' } },
        { value: '$share/h/a/+id', params: { id: '7' } },
        { value: 'a/+id', params: { id: '7' } },
      ])
      expect(values(m, '$share/g/a/7')).toEqual([])
      m.remove(parseFilter('$share/g/a/+id'), '$share/g/a/+id')
      expect(values(m, 'a/7')).toEqual(['$share/h/a/+id', 'a/+id'])
    })

    it("keeps the '$' rule for the inner filter", () => {
      const m = matcherOf(factory, '$share/g/#', '$share/g/$SYS/#')
      expect(values(m, '$SYS/x')).toEqual(['$share/g/$SYS/#'])
      expect(values(m, 'x')).toEqual(['$share/g/#'])
    })
  })
}
