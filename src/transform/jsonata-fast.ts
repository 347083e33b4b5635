// A fast path for the JSONata expressions most rules are made of: field paths, literals, arithmetic, comparisons,
// conditions, object and array constructors and a few string functions. Such an expression is compiled once into
// plain JavaScript closures (about 2 µs per evaluation of the bench transform against 37 µs in the interpreter). Each closure checks
// the kinds of values it meets and gives up (BAIL) on anything whose JSONata meaning is subtler than the plain
// case (arrays met along a path, mixed types, non-finite numbers...): the interpreter then evaluates the message,
// so results and errors stay exactly the library's. jsonata-fast.test.ts compares both over generated inputs.
//
// Nothing here loops or recurses over the input, so the interpreter's guardrails (time, depth, sequence length)
// cannot be reached on the fast path.

import {
  BAIL,
  boolean,
  type Closure,
  checked,
  field,
  finite,
  isPrimitive,
  type Node,
  plainNode,
  text,
} from './jsonata-fast-values.js'

/** What a compiled expression gives back when it cannot decide: evaluate with the interpreter instead. */
export const FALLBACK: unique symbol = Symbol('fallback')

/** Deeper expressions are left to the interpreter, which enforces its own depth limit. */
const MAX_DEPTH = 32

/** Field names a plain object could answer from its prototype; left to the interpreter. */
const PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype))

export type FastEvaluator = (input: unknown) => unknown

/**
 * Compiles a JSONata AST (`expression.ast()`) when every node is on the fast path, else returns undefined.
 * The evaluator returns FALLBACK when this input needs the interpreter.
 */
export function compileFast(ast: unknown): FastEvaluator | undefined {
  const body = compileNode(ast as Node, 0)
  if (body === undefined) return undefined
  return (input) => {
    // The interpreter maps a top-level array input over the expression, and a non-object has no fields.
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return FALLBACK
    try {
      return body(input)
    } catch (err) {
      if (err === BAIL) return FALLBACK
      throw err
    }
  }
}

function compileNode(node: Node, depth: number): Closure | undefined {
  if (depth > MAX_DEPTH || node === null || typeof node !== 'object' || !plainNode(node)) return undefined
  switch (node.type) {
    case 'string':
    case 'number':
    case 'value': {
      const value = node.value
      if (typeof value === 'number' && !Number.isFinite(value)) return undefined
      return () => value
    }
    case 'path':
      return compilePath(node.steps as Node[])
    case 'variable':
      // `$` is the context; `$$` the input, which is the context wherever the fast path reaches.
      return node.value === '' || node.value === '$' ? (context) => context : undefined
    case 'binary':
      return compileBinary(node, depth)
    case 'unary':
      return compileUnary(node, depth)
    case 'condition':
      return compileCondition(node, depth)
    case 'function':
      return compileFunction(node, depth)
    default:
      return undefined
  }
}

/** `a.b.c`, `$.a`: own fields of plain objects; an array anywhere along the way means JSONata mapping. */
function compilePath(steps: Node[]): Closure | undefined {
  if (!Array.isArray(steps) || steps.length === 0) return undefined
  let start = 0
  const first = steps[0]!
  if (first.type === 'variable') {
    if (!plainNode(first) || (first.value !== '' && first.value !== '$')) return undefined
    start = 1
  }
  const names: string[] = []
  for (const step of steps.slice(start)) {
    if (step.type !== 'name' || !plainNode(step) || typeof step.value !== 'string') return undefined
    if (PROTOTYPE_NAMES.has(step.value)) return undefined
    names.push(step.value)
  }
  return (context) => {
    let value = context
    for (const name of names) value = field(value, name)
    return checked(value)
  }
}

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
}

const COMPARISON: Record<string, (a: number | string, b: number | string) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
}

function compileBinary(node: Node, depth: number): Closure | undefined {
  const lhs = compileNode(node.lhs as Node, depth + 1)
  const rhs = compileNode(node.rhs as Node, depth + 1)
  if (lhs === undefined || rhs === undefined) return undefined
  const op = node.value as string
  const arithmetic = ARITHMETIC[op]
  if (arithmetic !== undefined) {
    return (context) => {
      const a = lhs(context)
      const b = rhs(context)
      if (typeof a === 'number' && typeof b === 'number') return finite(arithmetic(a, b))
      if (a === undefined && (b === undefined || typeof b === 'number')) return undefined
      if (b === undefined && typeof a === 'number') return undefined
      throw BAIL // a type error: the interpreter words it
    }
  }
  const comparison = COMPARISON[op]
  if (comparison !== undefined) {
    return (context) => {
      const a = lhs(context)
      const b = rhs(context)
      const ta = typeof a
      const tb = typeof b
      if ((ta === 'number' || ta === 'string') && ta === tb) return comparison(a as string, b as string)
      // Missing on either side (and nothing incomparable on the other): no result.
      if (
        (a === undefined || ta === 'number' || ta === 'string') &&
        (b === undefined || tb === 'number' || tb === 'string')
      )
        if (a === undefined || b === undefined) return undefined
      throw BAIL
    }
  }
  if (op === '=' || op === '!=') {
    const equal = op === '='
    return (context) => {
      const a = lhs(context)
      const b = rhs(context)
      if (a === undefined || b === undefined) return false
      if (!isPrimitive(a) || !isPrimitive(b)) throw BAIL // deep equality of objects
      return (a === b) === equal
    }
  }
  if (op === 'and' || op === 'or') {
    const and = op === 'and'
    return (context) => {
      const a = boolean(lhs(context))
      if (and ? !a : a) return a
      return boolean(rhs(context))
    }
  }
  if (op === '&') {
    return (context) => text(lhs(context)) + text(rhs(context))
  }
  return undefined
}

function compileUnary(node: Node, depth: number): Closure | undefined {
  if (node.value === '-') {
    const operand = compileNode(node.expression as Node, depth + 1)
    if (operand === undefined) return undefined
    return (context) => {
      const value = operand(context)
      if (value === undefined) return undefined
      if (typeof value === 'number') return -value
      throw BAIL
    }
  }
  if (node.value === '{') return compileObject(node.lhs as Node[][], depth)
  if (node.value === '[') return compileArray(node.expressions as Node[], depth)
  return undefined
}

/** `{ "key": value, ... }` with literal keys, applied to one (non-array) context: no grouping involved. */
function compileObject(pairs: Node[][], depth: number): Closure | undefined {
  if (!Array.isArray(pairs)) return undefined
  const keys: string[] = []
  const values: Closure[] = []
  for (const pair of pairs) {
    const [key, value] = pair
    if (pair.length !== 2 || key?.type !== 'string' || !plainNode(key) || typeof key.value !== 'string')
      return undefined
    if (keys.includes(key.value) || key.value === '__proto__' || key.value.startsWith('_jsonata_')) return undefined
    const compiled = compileNode(value!, depth + 1)
    if (compiled === undefined) return undefined
    keys.push(key.value)
    values.push(compiled)
  }
  return (context) => {
    const out: Record<string, unknown> = {}
    for (let i = 0; i < keys.length; i++) {
      const value = values[i]!(context)
      if (value !== undefined) out[keys[i]!] = value
    }
    return out
  }
}

/** `[a, b, ...]`: undefined items are dropped; a nested constructor stays an array, other arrays are flattened. */
function compileArray(items: Node[], depth: number): Closure | undefined {
  if (!Array.isArray(items)) return undefined
  const compiled: Closure[] = []
  const nested: boolean[] = []
  for (const item of items) {
    const closure = compileNode(item, depth + 1)
    if (closure === undefined) return undefined
    compiled.push(closure)
    nested.push(item.type === 'unary' && item.value === '[')
  }
  return (context) => {
    const result: unknown[] = []
    for (let i = 0; i < compiled.length; i++) {
      const value = compiled[i]!(context)
      if (value === undefined) continue
      if (!nested[i] && Array.isArray(value)) throw BAIL // flattened into the sequence: the interpreter's rules
      result.push(value)
    }
    return result
  }
}

function compileCondition(node: Node, depth: number): Closure | undefined {
  const condition = compileNode(node.condition as Node, depth + 1)
  const then = compileNode(node.then as Node, depth + 1)
  const otherwise = node.else === undefined ? () => undefined : compileNode(node.else as Node, depth + 1)
  if (condition === undefined || then === undefined || otherwise === undefined) return undefined
  return (context) => (boolean(condition(context)) ? then(context) : otherwise(context))
}

type Builtin = (args: unknown[]) => unknown

/** Built-in functions taken on the fast path, each for the argument types whose result is plain. */
const FUNCTIONS: Record<string, { arity: number; call: Builtin }> = {
  lowercase: { arity: 1, call: ([s]) => (s === undefined ? undefined : stringArg(s).toLowerCase()) },
  uppercase: { arity: 1, call: ([s]) => (s === undefined ? undefined : stringArg(s).toUpperCase()) },
  exists: { arity: 1, call: ([v]) => v !== undefined },
  not: { arity: 1, call: ([v]) => (v === undefined ? undefined : !boolean(v)) },
  number: {
    arity: 1,
    call: ([v]) => {
      if (v === undefined || typeof v === 'number') return v
      throw BAIL
    },
  },
}

function stringArg(value: unknown): string {
  if (typeof value === 'string') return value
  throw BAIL
}

function compileFunction(node: Node, depth: number): Closure | undefined {
  const procedure = node.procedure as Node | undefined
  if (procedure?.type !== 'variable' || !plainNode(procedure) || typeof procedure.value !== 'string') return undefined
  const args: Closure[] = []
  for (const arg of (node.arguments as Node[]) ?? []) {
    const compiled = compileNode(arg, depth + 1)
    if (compiled === undefined) return undefined
    args.push(compiled)
  }
  if (procedure.value === 'split') return compileSplit(node, args)
  const builtin = FUNCTIONS[procedure.value]
  if (builtin === undefined || node.predicate !== undefined || args.length !== builtin.arity) return undefined
  return (context) => builtin.call(args.map((arg) => checked(arg(context))))
}

/** `$split(text, "sep")[n]`: the array itself would be a sequence, so only an indexed part is taken. */
function compileSplit(node: Node, args: Closure[]): Closure | undefined {
  const predicate = node.predicate as Node[] | undefined
  if (args.length !== 2 || !Array.isArray(predicate) || predicate.length !== 1) return undefined
  const filter = predicate[0]!
  const index = (filter.expr as Node | undefined)?.value
  if (
    filter.type !== 'filter' ||
    Object.keys(filter).some((key) => key !== 'type' && key !== 'expr' && key !== 'position') ||
    (filter.expr as Node).type !== 'number' ||
    !plainNode(filter.expr as Node) ||
    typeof index !== 'number' ||
    !Number.isInteger(index)
  ) {
    return undefined
  }
  const [source, separator] = args as [Closure, Closure]
  return (context) => {
    const text = source(context)
    const sep = separator(context)
    if (typeof sep !== 'string' || sep === '') throw BAIL
    if (text === undefined) return undefined
    if (typeof text !== 'string') throw BAIL
    const parts = text.split(sep)
    return parts[index < 0 ? parts.length + index : index]
  }
}
