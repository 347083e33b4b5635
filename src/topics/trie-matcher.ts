// The matcher used in the message path: a trie over filter levels, so a topic is compared only with the
// filters that share its prefix. Matching splits the topic once and allocates nothing but the result.
import type { ParsedFilter } from './filter.js'
import type { TopicMatcher } from './matcher.js'

interface Entry<T> {
  source: string
  value: T
  params: ReadonlyArray<{ name: string; level: number; multi: boolean }>
}

interface Node<T> {
  children: Map<string, Node<T>>
  plus: Node<T> | undefined
  hash: Node<T> | undefined
  /** Entries whose filter ends at this node ('#' filters end at the '#' node). */
  entries: Entry<T>[]
}

const newNode = <T>(): Node<T> => ({ children: new Map(), plus: undefined, hash: undefined, entries: [] })

const isEmpty = <T>(node: Node<T>): boolean =>
  node.entries.length === 0 && node.children.size === 0 && node.plus === undefined && node.hash === undefined

export function createTrieMatcher<T>(): TopicMatcher<T> {
  const root = newNode<T>()
  let size = 0
  // Reused by every match (match is synchronous) so that a walk allocates nothing.
  const nodeStack: Array<Node<T> | undefined> = []
  const depthStack: number[] = []

  function child(node: Node<T>, level: string): Node<T> | undefined {
    if (level === '+') return node.plus
    if (level === '#') return node.hash
    return node.children.get(level)
  }

  function add(filter: ParsedFilter, value: T): void {
    let node = root
    for (const level of filter.levels) {
      let next = child(node, level)
      if (next === undefined) {
        next = newNode<T>()
        if (level === '+') node.plus = next
        else if (level === '#') node.hash = next
        else node.children.set(level, next)
      }
      node = next
    }
    if (node.entries.some((e) => e.source === filter.source && Object.is(e.value, value))) return
    node.entries.push({ source: filter.source, value, params: filter.params.map((p) => ({ ...p })) })
    size++
  }

  function remove(filter: ParsedFilter, value: T): void {
    const path: Node<T>[] = [root]
    for (const level of filter.levels) {
      const next = child(path[path.length - 1], level)
      if (next === undefined) return
      path.push(next)
    }
    const entries = path[path.length - 1].entries
    const i = entries.findIndex((e) => e.source === filter.source && Object.is(e.value, value))
    if (i === -1) return
    entries.splice(i, 1)
    size--
    // Prune the nodes this filter leaves empty, so a long-running registry does not grow with churn.
    for (let depth = filter.levels.length; depth > 0 && isEmpty(path[depth]); depth--) {
      const parent = path[depth - 1]
      const level = filter.levels[depth - 1]
      if (level === '+') parent.plus = undefined
      else if (level === '#') parent.hash = undefined
      else parent.children.delete(level)
    }
  }

  function match(topic: string): Array<{ value: T; params: Record<string, string> }> {
    const levels = topic.split('/')
    // Section 4.7.2: wildcards in the first level do not match topics starting with '$'.
    const dollar = topic.startsWith('$')
    const found: Array<{ value: T; params: Record<string, string> }> = []
    let top = 0
    nodeStack[top] = root
    depthStack[top++] = 0
    while (top > 0) {
      const node = nodeStack[--top]!
      const depth = depthStack[top]
      nodeStack[top] = undefined
      const wildcardsApply = depth > 0 || !dollar
      if (node.hash !== undefined && wildcardsApply) emit(node.hash.entries, topic, levels, found)
      if (depth === levels.length) {
        emit(node.entries, topic, levels, found)
        continue
      }
      const exact = node.children.get(levels[depth])
      if (exact !== undefined) {
        nodeStack[top] = exact
        depthStack[top++] = depth + 1
      }
      if (node.plus !== undefined && wildcardsApply) {
        nodeStack[top] = node.plus
        depthStack[top++] = depth + 1
      }
    }
    return found
  }

  return {
    add,
    remove,
    match,
    get size() {
      return size
    },
  }
}

function emit<T>(
  entries: Entry<T>[],
  topic: string,
  levels: string[],
  found: Array<{ value: T; params: Record<string, string> }>,
): void {
  for (const entry of entries) {
    const params: Record<string, string> = {}
    for (const p of entry.params) params[p.name] = p.multi ? rest(topic, levels, p.level) : levels[p.level]
    found.push({ value: entry.value, params })
  }
}

/** The levels from `from` on, joined by '/' ('' when '#' matched only the parent level). */
function rest(topic: string, levels: string[], from: number): string {
  if (from >= levels.length) return ''
  let offset = 0
  for (let i = 0; i < from; i++) offset += levels[i].length + 1
  return topic.slice(offset)
}
