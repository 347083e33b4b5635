// createApp(deps): the HTTP API as a Hono app, without listening (server.ts listens). Tests drive it with
// app.request(). Routes live in routes/, cross-cutting steps in middleware/, error mapping in errors.ts.
import { OpenAPIHono } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler, Next } from 'hono'
import { routePath } from 'hono/route'
import { type ApiConfig, assertSafeBinding } from '../config/api-schema.js'
import type { LiveSource } from '../mqtt/live-source.js'
import type { Publisher } from '../mqtt/publish.js'
import type { Requester } from '../mqtt/request-reply.js'
import type { Logger } from '../observability/logger.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { Spool } from '../spool/spool.js'
import { createErrorHandler, notFound, validationHook } from './errors.js'
import { createAuth, type Principal } from './middleware/auth.js'
import { createBodyLimit } from './middleware/body-limit.js'
import { createRateLimit } from './middleware/rate-limit.js'
import { CachedRouter } from './router.js'
import { dlqRoutes } from './routes/dlq.js'
import { addDocsRoutes } from './routes/docs.js'
import { healthRoutes } from './routes/health.js'
import { hooksRoutes } from './routes/hooks.js'
import { metricsRoutes } from './routes/metrics.js'
import { publishRoutes } from './routes/publish.js'
import { requestRoutes } from './routes/request.js'
import { rulesRoutes } from './routes/rules.js'
import { createStreamRegistry, type StreamRegistry, subscribeRoutes } from './routes/subscribe.js'

export type { LiveSource } from '../mqtt/live-source.js'

export interface Readiness {
  ready: boolean
  checks: Record<string, { ok: boolean; detail?: string }>
}

export interface AppDeps {
  config: ApiConfig
  publisher: Publisher
  live: LiveSource
  readiness: () => Readiness
  logger: Logger
  version: string
  /** MQTT version of the broker connection: 4 is 3.1.1 (no properties, no reason codes). */
  protocolVersion: 4 | 5
  /** Request/response over MQTT 5 (POST /v1/request); the core always provides it. */
  requests?: Requester
  /** The running rules (a function: hot reload swaps the set). */
  rules: () => RuleSet
  /** Where the dead letters are (/v1/dlq). */
  spool: Spool
  /** Wakes the delivery worker: replayed dead letters are due at once. */
  notifyDelivery: () => void
  /** Reload the rules (POST /v1/rules/reload), the reload state and per-rule counters (GET /v1/rules). */
  ruleAdmin?: {
    reload(): Promise<{
      ok: boolean
      rules: number
      added: string[]
      removed: string[]
      changed: string[]
      issues: unknown[]
    }>
    lastErrors(): string[]
    counters(rule: string): Record<string, number>
  }
  /** The bridge's metrics: served at /metrics, and told about every API request. */
  metrics?: {
    registry: { metrics(): Promise<string>; contentType: string }
    httpRequest(route: string, method: string, status: number, seconds: number): void
  }
}

export interface AppEnv {
  Variables: {
    principal: Principal
    /** The request body, read within api.maxBodyBytes (empty for GET). */
    body: Buffer
    /** Set by a route whose answer says "retry" although its status does not (a batch with such items). */
    retryable: boolean
  }
}

export type App = OpenAPIHono<AppEnv>

/** Context shared by the route modules of one app. */
export interface RouteContext extends AppDeps {
  streams: StreamRegistry
}

/** Each module returns an app of its routes; add new ones (rules, dlq, metrics) here. */
const routeModules: Array<(ctx: RouteContext) => App> = [
  healthRoutes,
  publishRoutes,
  subscribeRoutes,
  dlqRoutes,
  rulesRoutes,
  metricsRoutes,
  hooksRoutes,
  requestRoutes,
]

/** The app's open subscribe streams, so that the server can end them on close. */
const streamsOf = new WeakMap<object, StreamRegistry>()

export function createApp(deps: AppDeps): App {
  assertSafeBinding(deps.config)
  if (deps.config.tokens.length === 0) {
    deps.logger.warn(
      { host: deps.config.host },
      'HTTP API: no api.tokens configured, so requests are not authenticated; listening on loopback only',
    )
  }
  // Only this app's router matches requests: app.route() copies the route modules' routes into it.
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook, router: new CachedRouter() })
  const ctx: RouteContext = { ...deps, streams: createStreamRegistry() }
  streamsOf.set(app, ctx.streams)

  app.onError(createErrorHandler(deps.logger))
  app.notFound(notFound)
  app.use('*', async (c, next) => {
    const started = performance.now()
    await next()
    const ms = performance.now() - started
    if (deps.logger.isLevelEnabled('debug')) {
      deps.logger.debug(
        { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(ms) },
        'HTTP request',
      )
    }
    // By route pattern, not path: topics in paths would make the label set unbounded.
    const route = c.res.status === 404 && c.error === undefined ? 'unmatched' : routePath(c, -1)
    deps.metrics?.httpRequest(route, c.req.method, c.res.status, ms / 1000)
  })
  // Inbound hooks verify their senders themselves and read their bodies within their own limits (routes/hooks.ts).
  const steps = [createAuth(deps.config.tokens)]
  if (deps.config.rateLimit !== undefined) steps.push(createRateLimit(deps.config.rateLimit))
  steps.push(createBodyLimit(deps.config.maxBodyBytes))
  app.use('/v1/*', exceptHooks(...steps))

  for (const module of routeModules) app.route('/', module(ctx))
  addDocsRoutes(app, deps)
  return app
}

/**
 * Runs `steps` in order, except under /v1/hooks (and /v1/hooks itself). What hono/combine's `except(path, ...)`
 * does, without its per-request router match and composed chain: these run on every API request.
 */
export function exceptHooks(...steps: MiddlewareHandler<AppEnv>[]): MiddlewareHandler<AppEnv> {
  const run = (c: Context<AppEnv>, i: number, next: Next): Promise<unknown> =>
    i === steps.length ? next() : steps[i](c, () => run(c, i + 1, next) as Promise<void>)
  return (c, next) => {
    const path = c.req.path
    if (path === '/v1/hooks' || path.startsWith('/v1/hooks/')) return next()
    return run(c, 0, next) as Promise<void>
  }
}

/** An OpenAPIHono whose schema violations answer HOOKBRIDGE_REQUEST_INVALID. */
export function newApp(): App {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
}

/** Ends the app's subscribe streams (each gets a final `close` event); used by the server's close(). */
export function endStreams(app: object, reason: string): void {
  streamsOf.get(app)?.endAll(reason)
}
