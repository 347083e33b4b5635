// Does an inbound hook request come from its sender? Standard Webhooks signatures, GitHub's X-Hub-Signature-256
// HMAC or a bearer token, over the raw body bytes. Comparisons are constant-time; a refusal says what to check,
// never what was expected.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { HookbridgeError } from '../errors.js'
import type { HookVerification } from '../rules/compile-hook.js'

/** Standard Webhooks: a webhook-timestamp further than this from our clock is refused (replays, skew). */
export const timestampToleranceSeconds = 5 * 60

export interface HookRequest {
  /** A request header by its lower-case name. */
  header(name: string): string | undefined
  body: Buffer
  nowMs: number
}

const BEARER = /^Bearer[ \t]+([!-~]+)[ \t]*$/i
const GITHUB = /^sha256=([0-9a-fA-F]{64})$/

/** Throws HOOKBRIDGE_HOOK_SIGNATURE_INVALID unless the request passes the hook's verification. */
export function verifyHookRequest(hook: string, verification: HookVerification, request: HookRequest): void {
  const refuse = (detail: string) => new HookbridgeError('HOOKBRIDGE_HOOK_SIGNATURE_INVALID', { hook, detail })
  switch (verification.kind) {
    case 'none':
      return
    case 'bearer': {
      const header = request.header('authorization')
      if (header === undefined) throw refuse('no Authorization header (expected "Bearer <token>")')
      const presented = BEARER.exec(header)?.[1]
      if (presented === undefined) throw refuse('the Authorization header is not "Bearer <token>"')
      const digest = createHash('sha256').update(presented).digest()
      if (!timingSafeEqual(digest, verification.digest)) throw refuse('the bearer token is not the one this hook takes')
      return
    }
    case 'githubHmac': {
      const header = request.header('x-hub-signature-256')
      if (header === undefined) throw refuse('no X-Hub-Signature-256 header')
      const hex = GITHUB.exec(header.trim())?.[1]
      if (hex === undefined) throw refuse('X-Hub-Signature-256 is not "sha256=<64 hex digits>"')
      const expected = createHmac('sha256', verification.key).update(request.body).digest()
      if (!timingSafeEqual(Buffer.from(hex, 'hex'), expected)) {
        throw refuse('X-Hub-Signature-256 does not match the body (wrong secret, or the body was changed)')
      }
      return
    }
    case 'standardWebhooks':
      verifyStandardWebhooks(verification.keys, request, refuse)
      return
  }
}

function verifyStandardWebhooks(
  keys: readonly Buffer[],
  request: HookRequest,
  refuse: (detail: string) => HookbridgeError,
): void {
  const id = request.header('webhook-id')
  const timestamp = request.header('webhook-timestamp')
  const signatures = request.header('webhook-signature')
  if (id === undefined || timestamp === undefined || signatures === undefined) {
    throw refuse('a Standard Webhooks request needs the webhook-id, webhook-timestamp and webhook-signature headers')
  }
  if (!/^\d{1,15}$/.test(timestamp)) throw refuse('webhook-timestamp is not a number of seconds')
  const skewSeconds = Math.abs(request.nowMs / 1000 - Number(timestamp))
  if (skewSeconds > timestampToleranceSeconds) {
    throw refuse(
      `webhook-timestamp is ${Math.round(skewSeconds)} s away from this server's clock (at most ${timestampToleranceSeconds} s): a replay, or a clock to set right`,
    )
  }
  const signed = Buffer.from(`${id}.${timestamp}.`, 'utf8')
  const expected = keys.map((key) => createHmac('sha256', key).update(signed).update(request.body).digest())
  // Every presented v1 signature against every key, without stopping early.
  let matched = false
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',')
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue
    const presented = Buffer.from(entry.slice(comma + 1), 'base64')
    for (const digest of expected) {
      if (presented.length === digest.length && timingSafeEqual(presented, digest)) matched = true
    }
  }
  if (!matched) {
    throw refuse('no v1 signature in webhook-signature matches (wrong secret, or the body or headers were changed)')
  }
}
