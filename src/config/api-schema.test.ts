import { describe, expect, it } from 'vitest'
import { apiConfigSchema, assertSafeBinding, isLoopbackHost } from './api-schema.js'

const sha = 'ab'.repeat(32)

describe('api config', () => {
  it('has defaults for everything', () => {
    expect(apiConfigSchema.parse({})).toEqual({
      host: '127.0.0.1',
      port: 8080,
      tokens: [],
      maxBodyBytes: 262_144,
      requestTimeoutMs: 10_000,
      requestReplyTimeoutMs: 10_000,
      idempotencyWindowMs: 600_000,
      idempotencyMaxKeys: 10_000,
      allowDollarTopics: false,
      maxBatchItems: 100,
      sse: { maxBufferedMessages: 1000, maxStreams: 100, heartbeatMs: 15_000 },
    })
  })

  it('takes the port as a string (from HOOKBRIDGE_HTTP_PORT)', () => {
    expect(apiConfigSchema.parse({ port: '9090' }).port).toBe(9090)
  })

  it('accepts tokens with a secret or its sha256, and filters', () => {
    const config = apiConfigSchema.parse({
      tokens: [
        { name: 'a', token: '0123456789abcdef', publish: ['sensors/#'] },
        { name: 'b', sha256: sha, subscribe: ['+/status'] },
      ],
    })
    expect(config.tokens[0]).toEqual({ name: 'a', token: '0123456789abcdef', publish: ['sensors/#'], subscribe: [] })
  })

  it.each([
    [{ tokens: [{ name: 'a', publish: [] }] }, 'exactly one'],
    [{ tokens: [{ name: 'a', token: '0123456789abcdef', sha256: sha }] }, 'exactly one'],
    [{ tokens: [{ name: 'a', token: 'short' }] }, '16 characters'],
    [{ tokens: [{ name: 'a', sha256: 'xyz' }] }, '64 hex'],
    [{ tokens: [{ name: 'a', token: '0123456789abcdef', publish: ['a/#/b'] }] }, "'#' must be the last level"],
    [{ tokens: [{ name: 'a', token: '0123456789abcdef', publish: ['$share/g/a'] }] }, '$share'],
    [{ tokens: [{ name: 'a', token: '0123456789abcdef', publish: ['a/+id'] }] }, 'named wildcards'],
    [
      {
        tokens: [
          { name: 'a', token: '0123456789abcdef' },
          { name: 'a', token: '0123456789abcdeX' },
        ],
      },
      'duplicate name',
    ],
    [
      {
        tokens: [
          { name: 'a', token: '0123456789abcdef' },
          { name: 'b', token: '0123456789abcdef' },
        ],
      },
      'same secret',
    ],
    [{ tokens: [{ name: 'a', token: '0123456789abcdef', extra: 1 }] }, 'extra'],
    [{ colour: 'red' }, 'colour'],
    [{ sse: { maxBuffered: 1 } }, 'maxBuffered'],
    [{ maxBodyBytes: 0 }, 'maxBodyBytes'],
  ])('refuses %j', (input, mentions) => {
    const result = apiConfigSchema.safeParse(input)
    expect(result.success).toBe(false)
    expect(JSON.stringify(result.error?.issues)).toContain(mentions)
  })

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(host)).toBe(true)
    }
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1'])
      expect(isLoopbackHost(host)).toBe(false)
  })

  it('refuses to bind beyond loopback without tokens', () => {
    expect(() => assertSafeBinding(apiConfigSchema.parse({ host: '0.0.0.0' }))).toThrow(
      expect.objectContaining({ code: 'HOOKBRIDGE_HTTP_UNSAFE_BINDING' }),
    )
    expect(() =>
      assertSafeBinding(apiConfigSchema.parse({ host: '0.0.0.0', tokens: [{ name: 'a', sha256: sha }] })),
    ).not.toThrow()
    expect(() => assertSafeBinding(apiConfigSchema.parse({}))).not.toThrow()
  })
})
