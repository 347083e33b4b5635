// GET /healthz: the process answers. GET /readyz: the broker is connected and the rules are loaded (503 if not).
// Neither needs a token, so that orchestrators can probe them.
import { createRoute, z } from '@hono/zod-openapi'
import { HookbridgeError } from '../../errors.js'
import { type App, newApp, type RouteContext } from '../app.js'
import { errorBody, errorSchema } from '../errors.js'

const checksSchema = z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() }))

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Liveness: the process is up',
  responses: {
    200: {
      description: 'Up',
      content: { 'application/json': { schema: z.object({ status: z.literal('ok'), version: z.string() }) } },
    },
  },
})

const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['operations'],
  summary: 'Readiness: broker connected and rules loaded',
  responses: {
    200: {
      description: 'Ready',
      content: { 'application/json': { schema: z.object({ ready: z.literal(true), checks: checksSchema }) } },
    },
    503: {
      description: 'Not ready; `checks` says what is missing',
      content: {
        'application/json': { schema: errorSchema.extend({ ready: z.literal(false), checks: checksSchema }) },
      },
    },
  },
})

export function healthRoutes(ctx: RouteContext): App {
  const app = newApp()
  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const, version: ctx.version }, 200))
  app.openapi(readyRoute, (c) => {
    const { ready, checks } = ctx.readiness()
    if (ready) return c.json({ ready: true as const, checks }, 200)
    const failing = Object.entries(checks)
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => (check.detail ? `${name}: ${check.detail}` : name))
    const err = new HookbridgeError('HOOKBRIDGE_NOT_READY', { detail: failing.join('; ') || 'starting' })
    return c.json({ ...errorBody(err), ready: false as const, checks }, 503)
  })
  return app
}
