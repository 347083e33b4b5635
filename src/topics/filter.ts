// MQTT topic and filter rules (MQTT 3.1.1 / 5, section 4.7) plus hookbridge's named wildcards ('+id', '#rest').
// Pure functions: validation throws HookbridgeError; matching never throws.
import { HookbridgeError } from '../errors.js'

export const MAX_TOPIC_BYTES = 65535

export interface ValidateTopicOptions {
  /** Accept topics starting with '$' (reserved for the broker, e.g. $SYS). Default false. */
  allowDollar?: boolean
  /** Longest accepted topic, in bytes of UTF-8. Default 65535, the MQTT limit. */
  maxBytes?: number
}

export interface ParsedFilter {
  /** As written by the user. */
  source: string
  /** What to subscribe with: wildcard names stripped, without the $share prefix (e.g. 'sensors/+/temperature'). */
  mqttFilter: string
  /** `mqttFilter` with the '$share/<group>/' prefix when shared, else `mqttFilter`. */
  subscription: string
  shareGroup?: string
  /** `mqttFilter` split on '/'. */
  levels: string[]
  /** Named wildcards: `level` is their index in `levels`; `multi` for '#name'. */
  params: Array<{ name: string; level: number; multi: boolean }>
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Checks a topic that a message is PUBLISHED to; throws HOOKBRIDGE_TOPIC_INVALID. */
export function validateTopic(topic: string, options: ValidateTopicOptions = {}): void {
  const maxBytes = options.maxBytes ?? MAX_TOPIC_BYTES
  const fail = (detail: string): never => {
    throw new HookbridgeError('HOOKBRIDGE_TOPIC_INVALID', { topic, detail })
  }
  if (topic.length === 0) fail('a topic must not be empty; give at least one character')
  if (topic.includes('\0')) fail('a topic must not contain the NUL character (U+0000); remove it')
  if (LONE_SURROGATE.test(topic)) fail('a topic must be valid UTF-8, but it contains an unpaired surrogate')
  const bytes = Buffer.byteLength(topic, 'utf8')
  if (bytes > maxBytes) fail(`a topic may be at most ${maxBytes} bytes of UTF-8, this one is ${bytes}; shorten it`)
  for (const wildcard of ['+', '#']) {
    if (topic.includes(wildcard)) {
      fail(`a topic to publish to must not contain '${wildcard}'; wildcards belong in subscription filters only`)
    }
  }
  if (!options.allowDollar && topic.startsWith('$')) {
    fail("topics starting with '$' are reserved for the broker (e.g. $SYS); use a topic without the leading '$'")
  }
}

/** Parses a rule filter (MQTT filter with optional named wildcards and $share prefix); throws HOOKBRIDGE_FILTER_INVALID. */
export function parseFilter(source: string): ParsedFilter {
  const fail = (detail: string): never => {
    throw new HookbridgeError('HOOKBRIDGE_FILTER_INVALID', { filter: source, detail })
  }
  if (source.length === 0) fail('a filter must not be empty; use "#" to match every topic')
  if (source.includes('\0')) fail('a filter must not contain the NUL character (U+0000); remove it')
  if (LONE_SURROGATE.test(source)) fail('a filter must be valid UTF-8, but it contains an unpaired surrogate')
  const bytes = Buffer.byteLength(source, 'utf8')
  if (bytes > MAX_TOPIC_BYTES) {
    fail(`a filter may be at most ${MAX_TOPIC_BYTES} bytes of UTF-8, this one is ${bytes}; shorten it`)
  }

  let written = source.split('/')
  let shareGroup: string | undefined
  if (written[0] === '$share') {
    const usage = "write a shared subscription as '$share/<group>/<filter>'"
    if (written.length < 3) fail(`${usage}: the group or the filter is missing`)
    shareGroup = written[1]
    if (shareGroup === '') fail(`${usage}: the group name must not be empty`)
    if (/[+#]/.test(shareGroup)) fail(`${usage}: the group name must not contain '+' or '#'`)
    written = written.slice(2)
    if (written.length === 1 && written[0] === '') fail(`${usage}: the filter after the group must not be empty`)
  }

  const levels: string[] = []
  const params: ParsedFilter['params'] = []
  for (let i = 0; i < written.length; i++) {
    const level = written[i]
    const hash = level.indexOf('#')
    const plus = level.indexOf('+')
    if (hash === -1 && plus === -1) {
      levels.push(level)
      continue
    }
    if (hash > 0 || (hash === -1 && plus > 0)) {
      const wildcard = hash > 0 ? '#' : '+'
      fail(
        `'${wildcard}' must be alone in its level (level ${i + 1} is '${level}'); write '${wildcard}' or '${wildcard}name'`,
      )
    }
    const wildcard = level[0]
    const name = level.slice(1)
    if (wildcard === '#' && i !== written.length - 1) {
      fail(`'#' must be the last level (level ${i + 1} of ${written.length}); move it to the end or use '+'`)
    }
    if (name !== '') {
      if (!NAME.test(name)) {
        fail(
          `'${name}' (level ${i + 1}) is not a valid wildcard name: start with a letter or '_', then letters, digits or '_'`,
        )
      }
      if (name === '__proto__') fail(`'__proto__' (level ${i + 1}) is reserved; choose another wildcard name`)
      if (params.some((p) => p.name === name)) {
        fail(`the wildcard name '${name}' is used twice; give each wildcard its own name`)
      }
      params.push({ name, level: i, multi: wildcard === '#' })
    }
    levels.push(wildcard)
  }

  const mqttFilter = levels.join('/')
  const subscription = shareGroup === undefined ? mqttFilter : `$share/${shareGroup}/${mqttFilter}`
  const parsed: ParsedFilter = { source, mqttFilter, subscription, levels, params }
  if (shareGroup !== undefined) parsed.shareGroup = shareGroup
  return parsed
}

/**
 * Plain MQTT matching (section 4.7) of a topic against a filter without named wildcards or $share prefix
 * (for those, use `parseFilter` and `extractParams`). The filter is assumed valid; matching never throws.
 */
export function matches(filter: string, topic: string): boolean {
  return matchLevels(filter.split('/'), topic.split('/'))
}

/** The named captures of `parsed` in `topic`, or null when the topic does not match. */
export function extractParams(parsed: ParsedFilter, topic: string): Record<string, string> | null {
  const topicLevels = topic.split('/')
  if (!matchLevels(parsed.levels, topicLevels)) return null
  const params: Record<string, string> = {}
  for (const { name, level, multi } of parsed.params) {
    // A '#' that matched only the parent level (topic 'a' for 'a/#rest') captures ''.
    params[name] = multi ? topicLevels.slice(level).join('/') : topicLevels[level]
  }
  return params
}

function matchLevels(filter: string[], topic: string[]): boolean {
  // Section 4.7.2: a filter starting with a wildcard does not match topics starting with '$'.
  if (topic[0].startsWith('$') && (filter[0] === '+' || filter[0] === '#')) return false
  for (let i = 0; i < filter.length; i++) {
    if (filter[i] === '#') return true
    if (i >= topic.length) return false
    if (filter[i] !== '+' && filter[i] !== topic[i]) return false
  }
  return filter.length === topic.length
}
