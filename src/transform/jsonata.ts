// JSONata compiled once at load and evaluated with the library's own guardrails (time, depth, sequence size);
// expressions made only of plain parts also run as compiled JavaScript (jsonata-fast.ts), with the same results.
import jsonata from 'jsonata'
import { HookbridgeError } from '../errors.js'
import { compileFast, FALLBACK } from './jsonata-fast.js'

export interface ExpressionLimits {
  /** Wall time for one evaluation. */
  timeoutMs: number
  /** Maximum evaluation depth (stops runaway recursion). */
  maxDepth: number
  /** Maximum length of one sequence (stops `[1..1e9]`). */
  maxSequence: number
}

export const defaultExpressionLimits: ExpressionLimits = Object.freeze({
  timeoutMs: 1000,
  maxDepth: 300,
  maxSequence: 100_000,
})

export interface CompiledExpression {
  source: string
  evaluate(input: unknown, bindings?: Record<string, unknown>): Promise<unknown>
  /**
   * The result at once, from the compiled fast path (jsonata-fast.ts), or FALLBACK when this input needs the
   * interpreter (then use `evaluate`). Absent when the expression has no fast path.
   */
  evaluateNow?(input: unknown): unknown
}

export { FALLBACK }

export class ExpressionSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number | undefined,
  ) {
    super(message)
  }
}

export function compileExpression(
  source: string,
  limits: ExpressionLimits = defaultExpressionLimits,
): CompiledExpression {
  let expression: jsonata.Expression
  try {
    expression = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth, sequence: limits.maxSequence })
  } catch (err) {
    const e = err as { message?: string; position?: number; token?: string }
    const at = e.position !== undefined ? ` (at character ${e.position})` : ''
    throw new ExpressionSyntaxError(`invalid JSONata${at}: ${e.message ?? String(err)}`, e.position)
  }
  // Plain expressions also get a compiled fast path (jsonata-fast.ts); it steps aside when the interpreter must decide.
  const fast = compileFast(expression.ast())
  if (fast === undefined) return { source, evaluate: (input, bindings) => expression.evaluate(input, bindings) }
  return {
    source,
    evaluate(input, bindings) {
      if (bindings === undefined) {
        const value = fast(input)
        if (value !== FALLBACK) return Promise.resolve(value)
      }
      return expression.evaluate(input, bindings)
    },
    evaluateNow: fast,
  }
}

/** Evaluate, turning any failure into HOOKBRIDGE_TRANSFORM_FAILED (never retried: the same input fails again). */
export async function evaluateFor(
  rule: string,
  stage: string,
  expression: CompiledExpression,
  input: unknown,
  bindings?: Record<string, unknown>,
): Promise<unknown> {
  try {
    return normalize(await expression.evaluate(input, bindings))
  } catch (err) {
    throw evaluationFailure(rule, stage, err)
  }
}

/**
 * evaluateFor without waiting: the result when the fast path decides, FALLBACK when this input needs the
 * interpreter (then call evaluateFor). Fails as evaluateFor does.
 */
export function evaluateNowFor(rule: string, stage: string, expression: CompiledExpression, input: unknown): unknown {
  if (expression.evaluateNow === undefined) return FALLBACK
  try {
    const value = expression.evaluateNow(input)
    return value === FALLBACK ? FALLBACK : normalize(value)
  } catch (err) {
    throw evaluationFailure(rule, stage, err)
  }
}

function evaluationFailure(rule: string, stage: string, err: unknown): HookbridgeError {
  const e = err as { message?: string; code?: string; value?: unknown }
  const detail =
    e.code === 'D1012'
      ? `evaluation took longer than ${e.value} ms`
      : e.code === 'D1011'
        ? `evaluation went deeper than ${e.value} levels (runaway recursion?)`
        : e.code === 'D2015'
          ? `a sequence grew past ${e.value} items`
          : (e.message ?? String(err))
  return new HookbridgeError('HOOKBRIDGE_TRANSFORM_FAILED', { rule, stage, detail, jsonataCode: e.code })
}

/** JSONata sequences are arrays with extra markers; give plain JSON values back. */
function normalize(value: unknown): unknown {
  if (Array.isArray(value) && (value as { sequence?: boolean }).sequence) return Array.from(value)
  return value
}
