// Standard Webhooks signatures (https://www.standardwebhooks.com/), made at send time so every attempt carries a
// fresh timestamp. The keys come from the rule as loaded now; they are never stored in the spool.
import { createHmac } from 'node:crypto'
import type { OutgoingRequest } from '../spool/spool.js'

const PREFIX = 'whsec_'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/**
 * The key bytes of one secret: `whsec_<base64>` is decoded as the specification says; any other text is used as
 * is (UTF-8), like `new Webhook(secret, { format: 'raw' })`. Throws an Error that says what is wrong.
 */
export function signingKey(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) {
    if (secret.length === 0) throw new Error('the secret is empty')
    return Buffer.from(secret, 'utf8')
  }
  const encoded = secret.slice(PREFIX.length)
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) {
    throw new Error('a secret starting with "whsec_" must continue with base64 (A-Z, a-z, 0-9, +, /, = padding)')
  }
  const key = Buffer.from(encoded, 'base64')
  if (key.length === 0) throw new Error('the secret is empty')
  return key
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for each key, space-separated. */
export function webhookSignature(
  id: string,
  timestampSeconds: number,
  body: Buffer,
  keys: readonly Uint8Array[],
): string {
  const prefix = Buffer.from(`${id}.${timestampSeconds}.`, 'utf8')
  return keys.map((key) => `v1,${createHmac('sha256', key).update(prefix).update(body).digest('base64')}`).join(' ')
}

/** The request with webhook-id (the delivery id), webhook-timestamp (now) and webhook-signature set. */
export function signRequest(
  request: OutgoingRequest,
  deliveryId: string,
  keys: readonly Uint8Array[],
  nowMs: number,
): OutgoingRequest {
  if (keys.length === 0) return request
  const timestamp = Math.floor(nowMs / 1000)
  return {
    ...request,
    headers: {
      ...request.headers,
      'webhook-id': deliveryId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': webhookSignature(deliveryId, timestamp, request.body, keys),
    },
  }
}
