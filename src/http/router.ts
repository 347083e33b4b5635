// The app's router: Hono's TrieRouter (RegExpRouter, Hono's fast one, refuses our route set: `{topic}` spans '/'
// next to /v1/publish/batch, and /v1/dlq/:id/replay sits next to /v1/dlq/replay), with its answers kept per method
// and path. A trie match walks every segment against the wildcard middleware and the patterns (about 4 µs per
// request here, a few per cent of a publish); a kept answer is one Map lookup.
import type { Result, Router } from 'hono/router'
import { TrieRouter } from 'hono/router/trie-router'

export interface CachedRouterOptions {
  /** Answers kept at most; the oldest is dropped first. */
  maxEntries?: number
  /** Longer paths are matched every time, so that a few long URLs cannot hold much memory. */
  maxPathLength?: number
}

/**
 * A router whose matches are kept, bounded. A match depends only on the method, the path and the routes, and
 * Hono only reads what it returns, so a kept answer is the answer; adding a route forgets them all.
 */
export class CachedRouter<T> implements Router<T> {
  readonly name: string
  readonly #inner: Router<T>
  readonly #maxEntries: number
  readonly #maxPathLength: number
  readonly #matches = new Map<string, Result<T>>()

  constructor(inner: Router<T> = new TrieRouter<T>(), options: CachedRouterOptions = {}) {
    this.#inner = inner
    this.name = `${inner.name} (cached)`
    this.#maxEntries = options.maxEntries ?? 1_000
    this.#maxPathLength = options.maxPathLength ?? 256
  }

  add(method: string, path: string, handler: T): void {
    this.#matches.clear()
    this.#inner.add(method, path, handler)
  }

  match(method: string, path: string): Result<T> {
    if (path.length > this.#maxPathLength) return this.#inner.match(method, path)
    const key = `${method} ${path}`
    let result = this.#matches.get(key)
    if (result === undefined) {
      result = this.#inner.match(method, path)
      if (this.#matches.size >= this.#maxEntries) this.#matches.delete(this.#matches.keys().next().value!)
      this.#matches.set(key, result)
    }
    return result
  }

  /** Answers kept (for tests). */
  get size(): number {
    return this.#matches.size
  }
}
