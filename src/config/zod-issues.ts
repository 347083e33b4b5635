// zod issues turned into messages that say what was expected, located in the source file.
import type { z } from 'zod'
import { formatFieldPath, type SourceFile, type SourceIssue } from './source-file.js'

export function zodIssuesToSourceIssues(source: Pick<SourceFile, 'file' | 'locate'>, error: z.ZodError): SourceIssue[] {
  return flattenUnions(error.issues, []).map((issue) => {
    // An unknown key is reported on its parent: point at the key itself.
    const path =
      issue.code === 'unrecognized_keys' && issue.keys.length === 1 ? [...issue.path, issue.keys[0]!] : issue.path
    const pos = source.locate(path)
    return {
      file: source.file,
      field: formatFieldPath(path),
      line: pos?.line,
      column: pos?.column,
      message: describe(issue),
    }
  })
}

// A union (`to: target | [targets]`) reports one issue list per branch. Report the branch whose shape the input
// had (no type mismatch at the union's own level), so errors read like those of a plain schema.
function flattenUnions(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): z.core.$ZodIssue[] {
  const out: z.core.$ZodIssue[] = []
  for (const issue of issues) {
    const path = [...prefix, ...issue.path]
    if (issue.code !== 'invalid_union' || issue.errors.length === 0) {
      out.push({ ...issue, path } as z.core.$ZodIssue)
      continue
    }
    const branch = issue.errors.find((errs) => !errs.some((e) => e.code === 'invalid_type' && e.path.length === 0))
    if (branch) out.push(...flattenUnions(branch, path))
    else out.push({ ...issue, path, message: unionMessage(issue.errors) } as z.core.$ZodIssue)
  }
  return out
}

function unionMessage(branches: z.core.$ZodIssue[][]): string {
  const typeIssues = branches.flatMap((errs) => errs.filter((e) => e.code === 'invalid_type'))
  const expected = typeIssues.map((e) => (e as { expected: string }).expected)
  if (expected.length === 0) return 'does not match any allowed form'
  return `expected ${[...new Set(expected)].join(' or ')}${got(typeIssues[0]!.message)}`
}

/** zod says "received undefined" for a missing field: say so plainly. */
function got(message: string): string {
  const received = /received (\w+)/.exec(message)?.[1]
  if (!received) return ''
  return received === 'undefined' ? ', but it is missing' : `, got ${received}`
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}: remove ${issue.keys.length > 1 ? 'them' : 'it'} or check the spelling`
    case 'invalid_type':
      return issue.message.startsWith('Invalid input: expected')
        ? `expected ${issue.expected}${got(issue.message)}`
        : issue.message
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    default:
      return issue.message
  }
}
