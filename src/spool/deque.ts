// A growable ring-buffer FIFO: O(1) push and shift at any size (Array.shift is O(n) on large arrays).

export class Deque<T> {
  private items: (T | undefined)[]
  private head = 0
  private count = 0

  constructor(initialCapacity = 16) {
    this.items = new Array(Math.max(2, initialCapacity))
  }

  get size(): number {
    return this.count
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow()
    this.items[(this.head + this.count) % this.items.length] = item
    this.count++
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.items.length
    this.count--
    return item
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  /** Keep only the items that pass, in order (O(n)). */
  retain(keep: (item: T) => boolean): void {
    const kept: T[] = []
    for (const item of this) if (keep(item)) kept.push(item)
    this.items = new Array(Math.max(16, kept.length * 2))
    for (let i = 0; i < kept.length; i++) this.items[i] = kept[i]
    this.head = 0
    this.count = kept.length
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) % this.items.length] as T
  }

  private grow(): void {
    const next = new Array<T | undefined>(this.items.length * 2)
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length]
    this.items = next
    this.head = 0
  }
}
