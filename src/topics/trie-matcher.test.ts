import { describe, expect, it } from 'vitest'
import { parseFilter } from './filter.js'
import { runMatcherSuite } from './matcher.case.js'
import type { TopicMatcher } from './matcher.js'
import { createReferenceMatcher } from './reference-matcher.js'
import { createTrieMatcher } from './trie-matcher.js'

runMatcherSuite('trie matcher', createTrieMatcher)

/** mulberry32: a small seeded PRNG, so a failure replays exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('trie matcher against the reference matcher', () => {
  const random = prng(0x5eed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const literals = ['a', 'b', 'c', '', '$SYS', '$x', 'é']

  function randomFilter(): string {
    const count = 1 + Math.floor(random() * 4)
    const levels: string[] = []
    for (let i = 0; i < count; i++) {
      const last = i === count - 1
      levels.push(pick([...literals, ...literals, '+', `+p${i}`, ...(last ? ['#', '#rest', '#'] : [])]))
    }
    // A lone empty level is an empty filter, which is invalid.
    const filter = levels.join('/') || '+'
    return random() < 0.1 ? `$share/g${Math.floor(random() * 2)}/${filter}` : filter
  }

  function randomTopic(): string {
    const count = 1 + Math.floor(random() * 5)
    return Array.from({ length: count }, () => pick(literals)).join('/')
  }

  /** The hits as sorted strings, so two matchers compare as multisets. */
  const canonical = (m: TopicMatcher<number>, topic: string): string[] =>
    m
      .match(topic)
      .map((h) => `${h.value} ${JSON.stringify(Object.entries(h.params).sort())}`)
      .sort()

  const entries = Array.from({ length: 2000 }, () => ({ filter: parseFilter(randomFilter()), value: pick([1, 2, 3]) }))
  const topics = Array.from({ length: 2000 }, randomTopic)

  function compare(trie: TopicMatcher<number>, reference: TopicMatcher<number>): number {
    expect(trie.size).toBe(reference.size)
    let total = 0
    for (const topic of topics) {
      const expected = canonical(reference, topic)
      expect(canonical(trie, topic), topic).toEqual(expected)
      total += expected.length
    }
    return total
  }

  it('finds the same entries and params for 2000 random filters and topics, before and after removals', () => {
    const trie = createTrieMatcher<number>()
    const reference = createReferenceMatcher<number>()
    for (const { filter, value } of entries) {
      trie.add(filter, value)
      reference.add(filter, value)
    }
    // Guard against a generator that makes the check vacuous.
    expect(compare(trie, reference)).toBeGreaterThan(topics.length * 5)

    for (const { filter, value } of entries) {
      if (random() < 0.7) {
        // A fresh parse: entries are identified by their source, not by the object.
        trie.remove(parseFilter(filter.source), value)
        reference.remove(parseFilter(filter.source), value)
      }
    }
    expect(compare(trie, reference)).toBeGreaterThan(0)
  })
})
