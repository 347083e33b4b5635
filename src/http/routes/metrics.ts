// GET /metrics: Prometheus text format from the bridge's registry (outside /v1, like /healthz: scrapers carry
// no token; the API listens on loopback unless tokens are configured).
import type { App, RouteContext } from '../app.js'
import { newApp } from '../app.js'

export function metricsRoutes(ctx: RouteContext): App {
  const app = newApp()
  app.get('/metrics', async (c) => {
    if (!ctx.metrics) return c.notFound()
    const body = await ctx.metrics.registry.metrics()
    return c.body(body, 200, { 'content-type': ctx.metrics.registry.contentType })
  })
  return app
}
