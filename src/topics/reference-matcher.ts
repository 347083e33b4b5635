// The obviously correct matcher: a linear scan over every entry with `extractParams`. It is the yardstick
// the trie matcher is checked against; use the trie in the message path.
import { extractParams, type ParsedFilter } from './filter.js'
import type { TopicMatcher } from './matcher.js'

export function createReferenceMatcher<T>(): TopicMatcher<T> {
  const entries: Array<{ filter: ParsedFilter; value: T }> = []
  const indexOf = (filter: ParsedFilter, value: T): number =>
    entries.findIndex((e) => e.filter.source === filter.source && Object.is(e.value, value))

  return {
    add(filter, value) {
      if (indexOf(filter, value) === -1) entries.push({ filter, value })
    },
    remove(filter, value) {
      const i = indexOf(filter, value)
      if (i !== -1) entries.splice(i, 1)
    },
    match(topic) {
      const found: Array<{ value: T; params: Record<string, string> }> = []
      for (const { filter, value } of entries) {
        const params = extractParams(filter, topic)
        if (params !== null) found.push({ value, params })
      }
      return found
    },
    get size() {
      return entries.length
    },
  }
}
