// `${env:NAME}` references: secrets and settings pulled from the environment when a file is loaded.

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g

export interface EnvRefIssue {
  name: string
}

/** Replace every `${env:NAME}`; unset names are reported through `onMissing` and left as ''. */
export function resolveEnvRefs(text: string, env: NodeJS.ProcessEnv, onMissing: (issue: EnvRefIssue) => void): string {
  if (!text.includes('${env:')) return text
  return text.replace(ENV_REF, (_whole, name: string) => {
    const value = env[name]
    if (value === undefined) {
      onMissing({ name })
      return ''
    }
    return value
  })
}

/** Resolve env refs in every string of a parsed YAML/JSON value; `path` locates each miss. */
export function resolveEnvRefsDeep(
  value: unknown,
  env: NodeJS.ProcessEnv,
  onMissing: (issue: EnvRefIssue & { path: (string | number)[] }) => void,
  path: (string | number)[] = [],
): unknown {
  if (typeof value === 'string') return resolveEnvRefs(value, env, (issue) => onMissing({ ...issue, path }))
  if (Array.isArray(value)) return value.map((item, i) => resolveEnvRefsDeep(item, env, onMissing, [...path, i]))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) out[key] = resolveEnvRefsDeep(item, env, onMissing, [...path, key])
    return out
  }
  return value
}

export function hasEnvRef(text: string): boolean {
  return text.includes('${env:')
}
