// A binary min-heap: O(log n) push and pop, O(1) peek. Items must not change their order while inside.

export class MinHeap<T> {
  private readonly items: T[] = []

  constructor(private readonly less: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const items = this.items
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(item, items[parent])) break
      items[i] = items[parent]
      i = parent
    }
    items[i] = item
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && this.less(items[right], items[left]) ? right : left
      if (!this.less(items[child], last)) break
      items[i] = items[child]
      i = child
    }
    items[i] = last
    return top
  }

  /** Keep only the items that pass (O(n)), restoring the heap order afterwards. */
  retain(keep: (item: T) => boolean): void {
    const kept = this.items.filter(keep)
    this.items.length = 0
    for (const item of kept) this.push(item)
  }
}
