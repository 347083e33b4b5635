// The README stays true: its configuration and error tables are the ones the code defines.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
// @ts-expect-error: a plain .mjs script, typed loosely on purpose
import { applyTables, renderTables } from '../scripts/readme-tables.mjs'
import { settings } from '../src/config/settings.js'
import { errorCatalogue } from '../src/errors.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('README', () => {
  it('has the configuration and error-code tables the code defines (run `npm run docs` to update them)', async () => {
    expect(readme).toBe(applyTables(readme, await renderTables()))
  })

  it('documents every error code and every setting, and nothing extra', () => {
    const errorTable = readme.slice(readme.indexOf('<!-- error table -->'), readme.indexOf('<!-- /error table -->'))
    const codes = new Set(errorTable.match(/^\| `HOOKBRIDGE_[A-Z0-9_]+` \|/gm)?.map((row) => row.split('`')[1]))
    expect([...codes].sort()).toEqual(Object.keys(errorCatalogue).sort())
    for (const setting of settings) expect(readme).toContain(`| \`${setting.env}\` |`)
  })

  it('shows the two set-up commands and the test command', () => {
    expect(readme).toContain('npm install && npm start')
    expect(readme).toContain('npm test')
  })
})

describe('error catalogue', () => {
  it('holds only codes that the code raises', async () => {
    const { readdirSync, statSync } = await import('node:fs')
    const { join } = await import('node:path')
    const root = new URL('../src/', import.meta.url).pathname
    let source = ''
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name)
        if (statSync(path).isDirectory()) walk(path)
        else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && path !== join(root, 'errors.ts'))
          source += readFileSync(path, 'utf8')
      }
    }
    walk(root)
    const unused = Object.keys(errorCatalogue).filter((code) => !source.includes(code))
    expect(unused).toEqual([])
  })
})
