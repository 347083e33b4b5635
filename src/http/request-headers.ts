// One request header, for the headers the hot routes look for on every request and usually do not get. Behind
// @hono/node-server an absent header is answered from Node's parsed headers (one property read) instead of through
// the adapter's web Headers (name check, lookups); a header that is there is read through Hono as before, so its
// value (duplicates joined, whitespace trimmed) is the same. Elsewhere (app.request() in tests) Hono answers.
import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'

/** What @hono/node-server passes as the app's env. */
export interface NodeBindings {
  incoming?: IncomingMessage
}

/** `name` in lower case. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (c.env as NodeBindings | undefined)?.incoming
  if (incoming !== undefined && incoming.headers[name] === undefined) return undefined
  return c.req.header(name)
}
