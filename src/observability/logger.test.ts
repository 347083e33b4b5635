import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from './logger.js'

function capture() {
  const lines: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return { lines, logger: createLogger({ level: 'info', destination: destination as never }) }
}

describe('logger', () => {
  it('writes JSON and redacts secrets wherever they appear', () => {
    const { lines, logger } = capture()
    logger.info(
      {
        headers: { authorization: 'Bearer s3cret-1', 'x-ok': 'visible' },
        mqtt: { password: 's3cret-2' },
        api: { tokens: [{ name: 'ops', token: 's3cret-3' }] },
        token: 's3cret-4',
      },
      'hello',
    )
    expect(lines).toHaveLength(1)
    const line = lines[0]!
    expect(JSON.parse(line).msg).toBe('hello')
    expect(line).toContain('visible')
    expect(line).not.toMatch(/s3cret/)
    expect(line.match(/\[redacted\]/g)?.length).toBe(4)
  })
})
