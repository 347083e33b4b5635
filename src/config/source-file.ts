// YAML or JSON text parsed with positions, so every error can name the file, the field and the line.
import { isNode, LineCounter, parseDocument } from 'yaml'

export type FieldPath = readonly PropertyKey[]

export interface SourceIssue {
  file: string
  /** Dotted field path, e.g. `to.headers.authorization` or `from.topic[1]`; '' for the whole document. */
  field: string
  line?: number
  column?: number
  message: string
}

export interface SourceFile {
  file: string
  value: unknown
  /** Syntax errors; when non-empty `value` is undefined. */
  issues: SourceIssue[]
  /** Where a field is written, as closely as the document allows (its nearest existing parent). */
  locate(path: FieldPath): { line: number; column: number } | undefined
}

export function parseSourceFile(file: string, text: string): SourceFile {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const issues: SourceIssue[] = doc.errors.map((err) => {
    const pos = lineCounter.linePos(err.pos[0])
    return { file, field: '', line: pos.line, column: pos.col, message: err.message.split('\n')[0] ?? err.message }
  })
  const locate = (path: FieldPath) => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true)
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0])
        return { line: pos.line, column: pos.col }
      }
    }
    return undefined
  }
  return { file, value: issues.length > 0 ? undefined : doc.toJS(), issues, locate }
}

export function formatFieldPath(path: FieldPath): string {
  let out = ''
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}

export function formatIssue(issue: SourceIssue): string {
  const where =
    issue.line !== undefined ? `${issue.file}:${issue.line}${issue.column ? `:${issue.column}` : ''}` : issue.file
  return issue.field ? `${where}: ${issue.field}: ${issue.message}` : `${where}: ${issue.message}`
}
