import { describe, expect, it } from 'vitest'
import { compileTemplate, TemplateError } from './template.js'

const envelope = { topic: 'a/b', params: { device: 'kitchen 1/2' }, payload: { n: 5, tags: ['x'] } }

describe('templates', () => {
  it('keeps literal text static', async () => {
    const t = compileTemplate('http://h/x?y=1', {})
    expect(t.isStatic).toBe(true)
    expect(t.staticText).toBe('http://h/x?y=1')
    expect(await t.render(envelope)).toBe('http://h/x?y=1')
  })

  it('reads plain paths and encodes them with the given encoder', async () => {
    const t = compileTemplate('http://h/alerts/{params.device}', {})
    expect(t.isStatic).toBe(false)
    expect(t.staticText).toBeUndefined()
    expect(await t.render(envelope, encodeURIComponent)).toBe('http://h/alerts/kitchen%201%2F2')
  })

  it('evaluates JSONata expressions, objects as JSON', async () => {
    expect(await compileTemplate('{payload.n * 2}-{$uppercase(topic)}', {}).render(envelope)).toBe('10-A/B')
    expect(await compileTemplate('{payload.tags}', {}).render(envelope)).toBe('["x"]')
    expect(await compileTemplate('{ {"k": "v"}.k }', {}).render(envelope)).toBe('v')
  })

  it('resolves ${env:NAME} at compile time and remembers the names', async () => {
    const t = compileTemplate('Bearer ${env:TOKEN}', { TOKEN: 'abc{x}' })
    expect(t.isStatic).toBe(true)
    expect(t.envRefs).toEqual(['TOKEN'])
    // A secret is literal text: braces inside it are not expressions.
    expect(await t.render(envelope)).toBe('Bearer abc{x}')
  })

  it('writes literal braces doubled', async () => {
    expect(await compileTemplate('{{literal}}', {}).render(envelope)).toBe('{literal}')
  })

  it('fails clearly on malformed templates and missing values', async () => {
    expect(() => compileTemplate('a{b', {})).toThrow(TemplateError)
    expect(() => compileTemplate('a}b', {})).toThrow(/unmatched "}"/)
    expect(() => compileTemplate('${env:NOPE}', {})).toThrow(/NOPE is not set/)
    await expect(compileTemplate('{params.missing}', {}).render(envelope)).rejects.toThrow(/has no value/)
  })
})
