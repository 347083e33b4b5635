// Regenerates the README's configuration and error-code tables from the code (src/config/settings.ts,
// src/errors.ts), between their markers. `npm run docs` runs it; test/readme.test.ts fails when they drift.
import { readFileSync, writeFileSync } from 'node:fs'

const readmeUrl = new URL('../README.md', import.meta.url)

export async function renderTables() {
  const { errorCatalogue } = await import('../dist/errors.js')
  const { settings, configFileEnv, configFileFlag } = await import('../dist/config/settings.js')
  const settingsRows = [
    '| Variable | Flag | Config key | Meaning |',
    '| --- | --- | --- | --- |',
    `| \`${configFileEnv}\` | \`${configFileFlag}\` | | YAML config file to read |`,
    ...settings.map((s) => `| \`${s.env}\` | ${s.flag ? `\`${s.flag}\`` : ''} | \`${s.path}\` | ${s.description} |`),
  ]
  const errorRows = [
    '| Code | HTTP | Retried | Message |',
    '| --- | --- | --- | --- |',
    ...Object.entries(errorCatalogue).map(
      ([code, d]) =>
        `| \`${code}\` | ${d.status ?? ''} | ${d.retryable === undefined ? '' : d.retryable ? 'yes' : 'no'} | ${d.message.replaceAll('|', '\\|')} |`,
    ),
  ]
  return { 'settings table': settingsRows.join('\n'), 'error table': errorRows.join('\n') }
}

export function applyTables(readme, tables) {
  let out = readme
  for (const [name, table] of Object.entries(tables)) {
    const start = `<!-- ${name} -->`
    const end = `<!-- /${name} -->`
    const i = out.indexOf(start)
    if (i < 0) throw new Error(`README.md has no ${start} marker`)
    const j = out.indexOf(end, i)
    const tail = j < 0 ? out.slice(i + start.length) : out.slice(j + end.length)
    out = `${out.slice(0, i)}${start}\n\n${table}\n\n${end}${tail}`
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const readme = readFileSync(readmeUrl, 'utf8')
  writeFileSync(readmeUrl, applyTables(readme, await renderTables()))
  console.log('README.md tables updated')
}
