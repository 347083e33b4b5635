// The values the JSONata fast path (jsonata-fast.ts) hands around, and JSONata's rules for them in the plain
// cases: which AST nodes are plain, field lookup, truthiness, text, finite numbers. Anything else throws BAIL,
// and the interpreter decides.
/** Thrown by a closure when the interpreter must decide. */
export const BAIL: unique symbol = Symbol('bail')

export type Node = Record<string, unknown> & { type: string; value?: unknown }
export type Closure = (context: unknown) => unknown

/** Only these keys may appear on a node of each type: anything else (predicates, stages, grouping...) is not ours. */
const KEYS: Record<string, readonly string[]> = {
  string: ['type', 'value', 'position'],
  number: ['type', 'value', 'position'],
  value: ['type', 'value', 'position'],
  name: ['type', 'value', 'position'],
  variable: ['type', 'value', 'position'],
  path: ['type', 'steps'],
  binary: ['type', 'value', 'position', 'lhs', 'rhs'],
  unary: ['type', 'value', 'position', 'lhs', 'expression', 'expressions'],
  condition: ['type', 'position', 'condition', 'then', 'else'],
  function: ['type', 'value', 'position', 'arguments', 'procedure', 'predicate'],
}

export function plainNode(node: Node): boolean {
  const allowed = KEYS[node.type]
  return allowed !== undefined && Object.keys(node).every((key) => allowed.includes(key) || node[key] === undefined)
}

export function field(value: unknown, name: string): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return undefined
  if (Array.isArray(value)) throw BAIL
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined
}

/** A value the fast path hands on: arrays (sequences) and functions are the interpreter's business. */
export function checked(value: unknown): unknown {
  if (Array.isArray(value) || typeof value === 'function') throw BAIL
  return value
}

export function finite(value: number): number {
  if (!Number.isFinite(value)) throw BAIL // the interpreter raises D1001
  return value
}

export function isPrimitive(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
}

/** JSONata's truthiness, for the plain cases. */
export function boolean(value: unknown): boolean {
  if (value === undefined) return false
  if (typeof value === 'boolean') return value
  throw BAIL
}

export function text(value: unknown): string {
  if (value === undefined) return ''
  if (typeof value === 'string') return value
  throw BAIL // $string() of numbers and objects has its own formatting
}
