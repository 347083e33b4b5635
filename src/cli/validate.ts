// `hookbridge validate [dir]`: every problem in a rules directory, each with file, line and field.
import { formatIssue } from '../config/source-file.js'
import { loadRules } from '../rules/load.js'

export function runValidate(dir: string): number {
  const loaded = loadRules(dir)
  if (loaded.issues.length > 0) {
    process.stderr.write(
      `${loaded.issues.length} problem${loaded.issues.length > 1 ? 's' : ''} in ${dir}:\n${loaded.issues.map((i) => `  ${formatIssue(i)}`).join('\n')}\n`,
    )
    return 1
  }
  const names = [...loaded.rules.map((r) => r.name), ...loaded.hooks.map((h) => h.name)].sort()
  process.stdout.write(`${dir}: ${names.length} rule${names.length === 1 ? '' : 's'} OK (${names.join(', ')})\n`)
  return 0
}
