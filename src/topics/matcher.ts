// What a rule registry needs from a topic matcher. Two implementations: reference-matcher.ts (a linear scan,
// obviously correct) and trie-matcher.ts (fast); both pass the suite in matcher.case.ts.
import type { ParsedFilter } from './filter.js'

/**
 * A set of (filter, value) entries. An entry is identified by `filter.source` and the value (compared with
 * `Object.is`): adding an entry that is already there changes nothing.
 */
export interface TopicMatcher<T> {
  add(filter: ParsedFilter, value: T): void
  /** Removes that value for that filter; does nothing when the entry is not there. */
  remove(filter: ParsedFilter, value: T): void
  /** Every entry whose filter matches the topic, with its named captures. Order is not specified. */
  match(topic: string): Array<{ value: T; params: Record<string, string> }>
  /** Number of (filter, value) entries. */
  readonly size: number
}
