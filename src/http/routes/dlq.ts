// /v1/dlq: list, show, replay and purge dead letters. With tokens configured only admin tokens may (403
// otherwise). A replay re-queues with the same delivery id and wakes the delivery worker.
import { createRoute } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { HookbridgeError } from '../../errors.js'
import { createDeadLetterAdmin, type DeadLetterSelection } from '../../spool/dead-letter-admin.js'
import { type App, type AppEnv, newApp, type RouteContext } from '../app.js'
import { errorSchema } from '../errors.js'
import {
  detailSchema,
  idParams,
  listQuery,
  pageSchema,
  purgeResultSchema,
  replayResultSchema,
  selectionSchema,
} from './dlq-schemas.js'

const json = <T>(schema: T) => ({ 'application/json': { schema } })
const failure = (description: string) => ({ description, content: json(errorSchema) })

const errors = {
  400: failure('Invalid query or body (HOOKBRIDGE_REQUEST_INVALID)'),
  401: failure('Missing or wrong bearer token'),
  403: failure('The token is not an admin token (HOOKBRIDGE_DLQ_FORBIDDEN)'),
}
const missing = { 404: failure('No dead letter with this id (HOOKBRIDGE_DEAD_LETTER_NOT_FOUND)') }

const adminOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  const principal = c.get('principal')
  if (!principal.admin) throw new HookbridgeError('HOOKBRIDGE_DLQ_FORBIDDEN', { token: principal.name })
  return next()
}

const common = { tags: ['dead letters'], security: [{ bearerAuth: [] }], middleware: adminOnly }
const selectionBody = { body: { content: json(selectionSchema), required: true } }

const listRoute = createRoute({
  ...common,
  method: 'get',
  path: '/v1/dlq',
  summary: 'List dead letters, oldest first, a page at a time',
  request: { query: listQuery },
  responses: { 200: { description: 'A page of summaries', content: json(pageSchema) }, ...errors },
})

const showRoute = createRoute({
  ...common,
  method: 'get',
  path: '/v1/dlq/{id}',
  summary: 'One dead letter: the original message, the request, every attempt',
  request: { params: idParams },
  responses: { 200: { description: 'The dead letter', content: json(detailSchema) }, ...errors, ...missing },
})

const replayRoute = createRoute({
  ...common,
  method: 'post',
  path: '/v1/dlq/replay',
  summary: 'Re-queue dead letters (by ids, by rule, or all) with their delivery ids',
  description: 'A dead letter whose delivery id is pending again (its message was redelivered) is left alone.',
  request: selectionBody,
  responses: { 200: { description: 'How many were re-queued', content: json(replayResultSchema) }, ...errors },
})

const replayOneRoute = createRoute({
  ...common,
  method: 'post',
  path: '/v1/dlq/{id}/replay',
  summary: 'Re-queue one dead letter with its delivery id',
  request: { params: idParams },
  responses: {
    200: { description: 'Re-queued (`replayed: 0` if it is pending already)', content: json(replayResultSchema) },
    ...errors,
    ...missing,
  },
})

const purgeRoute = createRoute({
  ...common,
  method: 'post',
  path: '/v1/dlq/purge',
  summary: 'Delete dead letters (by ids, by rule, or all)',
  description: 'Deleting every dead letter needs an explicit `{ "all": true }`.',
  request: selectionBody,
  responses: { 200: { description: 'How many were deleted', content: json(purgeResultSchema) }, ...errors },
})

const deleteRoute = createRoute({
  ...common,
  method: 'delete',
  path: '/v1/dlq/{id}',
  summary: 'Delete one dead letter',
  request: { params: idParams },
  responses: { 200: { description: 'Deleted', content: json(purgeResultSchema) }, ...errors, ...missing },
})

export function dlqRoutes(ctx: RouteContext): App {
  const app = newApp()
  const admin = createDeadLetterAdmin(ctx.spool)
  const notFound = (id: string) => new HookbridgeError('HOOKBRIDGE_DEAD_LETTER_NOT_FOUND', { id })
  const replay = (selection: DeadLetterSelection) => {
    const result = admin.replay(selection)
    if (result.replayed > 0) ctx.notifyDelivery()
    return result
  }

  app.openapi(listRoute, (c) => c.json(admin.list(c.req.valid('query')), 200))

  app.openapi(showRoute, (c) => {
    const { id } = c.req.valid('param')
    const dead = admin.get(id)
    if (dead === undefined) throw notFound(id)
    return c.json(dead, 200)
  })

  app.openapi(replayRoute, (c) => c.json(replay(selected(c.req.valid('json'))), 200))

  app.openapi(replayOneRoute, (c) => {
    const { id } = c.req.valid('param')
    const result = replay({ ids: [id] })
    if (result.notFound) throw notFound(id)
    return c.json(result, 200)
  })

  app.openapi(purgeRoute, (c) => c.json(admin.purge(selected(c.req.valid('json'))), 200))

  app.openapi(deleteRoute, (c) => {
    const { id } = c.req.valid('param')
    const result = admin.purge({ ids: [id] })
    if (result.notFound) throw notFound(id)
    return c.json(result, 200)
  })
  return app
}

/** The body as a selection; the schema has checked that exactly one of the three is given. */
function selected(body: { ids?: string[]; rule?: string; all?: true }): DeadLetterSelection {
  if (body.ids !== undefined) return { ids: body.ids }
  if (body.rule !== undefined) return { rule: body.rule }
  return { all: true }
}
