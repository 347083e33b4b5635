// Who is calling (bearer token, compared in constant time) and what that token may publish and subscribe to.
// With no tokens configured every caller is the anonymous principal (the API then only listens on loopback).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { type ApiToken, tokenDigest } from '../../config/api-schema.js'
import { HookbridgeError } from '../../errors.js'
import { matches, parseFilter } from '../../topics/filter.js'
import type { AppEnv } from '../app.js'

export interface Principal {
  /** The token's name; 'anonymous' when no tokens are configured. */
  name: string
  anonymous: boolean
  /** May use the dead letters (/v1/dlq); the anonymous principal may (no tokens: loopback only). */
  admin: boolean
  publish: readonly string[]
  subscribe: readonly string[]
}

const ANONYMOUS: Principal = Object.freeze({
  name: 'anonymous',
  anonymous: true,
  admin: true,
  publish: ['#'],
  subscribe: ['#'],
})
const BEARER = /^Bearer[ \t]+([!-~]+)[ \t]*$/i

export function createAuth(tokens: readonly ApiToken[]): MiddlewareHandler<AppEnv> {
  const known = tokens.map((token) => ({
    digest: tokenDigest(token),
    principal: Object.freeze({
      name: token.name,
      anonymous: false,
      admin: token.admin ?? false,
      publish: token.publish.map((f) => parseFilter(f).mqttFilter),
      subscribe: token.subscribe.map((f) => parseFilter(f).mqttFilter),
    }),
  }))
  // No tokens: no await of our own before the next step (every API request passes here).
  if (known.length === 0) {
    return (c, next) => {
      c.set('principal', ANONYMOUS)
      return next()
    }
  }
  return async (c, next) => {
    const header = c.req.header('authorization')
    if (header === undefined) throw unauthorized('No Authorization header')
    const presented = BEARER.exec(header)?.[1]
    if (presented === undefined) throw unauthorized('The Authorization header is not "Bearer <token>"')
    // Hashing first gives equal-length inputs to timingSafeEqual; every token is compared, no early exit.
    const digest = createHash('sha256').update(presented).digest()
    let found: Principal | undefined
    for (const entry of known) {
      if (timingSafeEqual(digest, entry.digest) && found === undefined) found = entry.principal
    }
    if (found === undefined) throw unauthorized('The bearer token is not valid')
    c.set('principal', found)
    return next()
  }
}

function unauthorized(detail: string): HookbridgeError {
  return new HookbridgeError('HOOKBRIDGE_UNAUTHORIZED', { detail })
}

export function assertMayPublish(principal: Principal, topic: string): void {
  if (principal.anonymous || principal.publish.some((filter) => matches(filter, topic))) return
  throw new HookbridgeError('HOOKBRIDGE_FORBIDDEN', {
    token: principal.name,
    action: 'publish to',
    list: 'publish',
    topic,
  })
}

/** `filter` must be plain MQTT (no $share, no named wildcards). */
export function assertMaySubscribe(principal: Principal, filter: string): void {
  if (principal.anonymous || principal.subscribe.some((allowed) => filterCovers(allowed, filter))) return
  throw new HookbridgeError('HOOKBRIDGE_FORBIDDEN', {
    token: principal.name,
    action: 'subscribe to',
    list: 'subscribe',
    topic: filter,
  })
}

/** Whether every topic matched by `specific` is also matched by `general` (both plain MQTT filters). */
export function filterCovers(general: string, specific: string): boolean {
  const g = general.split('/')
  const s = specific.split('/')
  // Section 4.7.2: a leading wildcard never matches '$' topics.
  if (s[0].startsWith('$') && (g[0] === '+' || g[0] === '#')) return false
  for (let i = 0; i < g.length; i++) {
    if (g[i] === '#') return true
    if (i >= s.length || s[i] === '#') return false
    if (g[i] === '+') continue
    if (s[i] === '+' || g[i] !== s[i]) return false
  }
  return g.length === s.length
}
