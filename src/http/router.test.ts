// The cached router answers exactly what a TrieRouter answers for the API's own route set, first time and kept.
import { TrieRouter } from 'hono/router/trie-router'
import { describe, expect, it } from 'vitest'
import { testApp } from '../../test/http/fakes.js'
import { CachedRouter } from './router.js'

const requests: Array<[string, string]> = [
  ['POST', '/v1/publish/a'],
  ['POST', '/v1/publish/a/b/c'],
  ['POST', '/v1/publish/batch'],
  ['POST', '/v1/publish/batch/x'],
  ['POST', '/v1/publish/'],
  ['POST', '/v1/publish'],
  ['POST', '/v1/publish/%24SYS/x'],
  ['GET', '/v1/publish/a'],
  ['POST', '/v1/request/a/b'],
  ['GET', '/v1/dlq'],
  ['GET', '/v1/dlq/42'],
  ['POST', '/v1/dlq/replay'],
  ['POST', '/v1/dlq/42/replay'],
  ['POST', '/v1/dlq/purge'],
  ['DELETE', '/v1/dlq/42'],
  ['POST', '/v1/rules/r1/dry-run'],
  ['POST', '/v1/hooks/github'],
  ['GET', '/healthz'],
  ['GET', '/metrics'],
  ['GET', '/nowhere'],
  ['GET', '/'],
]

describe('CachedRouter', () => {
  const routes = testApp().app.routes
  const trie = new TrieRouter<string>()
  const cached = new CachedRouter<string>()
  routes.forEach(({ method, path }, i) => {
    trie.add(method, path, `${i} ${method} ${path}`)
    cached.add(method, path, `${i} ${method} ${path}`)
  })

  it.each(requests)('%s %s: as the TrieRouter, matched and then kept', (method, path) => {
    const expected = trie.match(method, path)
    expect(cached.match(method, path)).toEqual(expected)
    expect(cached.match(method, path)).toEqual(expected)
  })

  it('keeps at most maxEntries answers, and matches long paths every time', () => {
    const router = new CachedRouter<string>(new TrieRouter(), { maxEntries: 3, maxPathLength: 20 })
    router.add('POST', '/t/:topic{.+}', 'topic')
    for (const topic of ['a', 'b', 'c', 'd', 'e']) {
      expect(router.match('POST', `/t/${topic}`)[0]).toEqual([['topic', { topic }]])
    }
    expect(router.size).toBe(3)
    const long = `/t/${'x'.repeat(30)}`
    expect(router.match('POST', long)[0]).toEqual([['topic', { topic: 'x'.repeat(30) }]])
    expect(router.size).toBe(3)
  })

  it('forgets its answers when a route is added', () => {
    const router = new CachedRouter<string>()
    router.add('GET', '/a', 'first')
    expect(router.match('GET', '/a')[0]).toEqual([['first', {}]])
    router.add('GET', '/a', 'second')
    expect(router.match('GET', '/a')[0]).toEqual([
      ['first', {}],
      ['second', {}],
    ])
  })
})
