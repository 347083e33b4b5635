// Every failure of the HTTP API becomes `{ "error": { "code", "message" } }` here, and only here:
// app.onError, notFound and the validation hook of the zod schemas all end in `errorResponse`.
import { z } from '@hono/zod-openapi'
import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { HookbridgeError, isHookbridgeError } from '../errors.js'
import type { Logger } from '../observability/logger.js'

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'HOOKBRIDGE_TOPIC_INVALID' }),
      message: z.string(),
      reasonCode: z.number().int().optional().openapi({ description: 'MQTT reason code, when the broker refused' }),
    }),
  })
  .openapi('Error')

export type ErrorBody = z.infer<typeof errorSchema>

/** Details that are safe and useful to show to API clients, besides code and message. */
const PUBLIC_DETAILS = ['reasonCode'] as const

export function errorBody(err: HookbridgeError): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message } }
  for (const key of PUBLIC_DETAILS) {
    const value = err.details[key]
    if (typeof value === 'number') body.error[key] = value
  }
  return body
}

/** Any thrown value as a catalogue error that has an HTTP status. */
export function toApiError(err: unknown, c: Context): HookbridgeError {
  if (isHookbridgeError(err) && err.status !== undefined) return err
  if (err instanceof HTTPException) {
    switch (err.status) {
      case 400:
        return new HookbridgeError('HOOKBRIDGE_REQUEST_INVALID', { detail: err.message })
      case 404:
        return new HookbridgeError('HOOKBRIDGE_NOT_FOUND', { method: c.req.method, path: c.req.path })
      case 415:
        return new HookbridgeError('HOOKBRIDGE_UNSUPPORTED_MEDIA_TYPE', {
          contentType: c.req.header('content-type') ?? '',
          expected: 'application/json',
        })
    }
  }
  const detail = isHookbridgeError(err) ? err.code : err instanceof Error ? err.name : 'unknown'
  return new HookbridgeError('HOOKBRIDGE_INTERNAL', { detail }, { cause: err })
}

export function errorResponse(c: Context, err: HookbridgeError): Response {
  const status = err.status ?? 500
  const headers: Record<string, string> = {}
  const retryAfter = err.details.retryAfterSeconds
  if (typeof retryAfter === 'number') headers['Retry-After'] = String(retryAfter)
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer realm="hookbridge"'
  // The client may still be sending the body we refused: do not keep reading it on this connection.
  if (status === 413) headers.Connection = 'close'
  return c.json(errorBody(err), status as 400, headers)
}

export function createErrorHandler(logger: Logger): ErrorHandler {
  return (err, c) => {
    const apiError = toApiError(err, c)
    const status = apiError.status ?? 500
    const where = { method: c.req.method, path: c.req.path, status, code: apiError.code }
    if (status >= 500 && apiError.code === 'HOOKBRIDGE_INTERNAL') logger.error({ ...where, err }, 'HTTP request failed')
    else if (status >= 500) logger.warn({ ...where, message: apiError.message }, 'HTTP request failed')
    else logger.debug({ ...where, message: apiError.message }, 'HTTP request refused')
    return errorResponse(c, apiError)
  }
}

export const notFound: NotFoundHandler = (c) =>
  errorResponse(c, new HookbridgeError('HOOKBRIDGE_NOT_FOUND', { method: c.req.method, path: c.req.path }))

/** The defaultHook of every OpenAPIHono: a schema violation becomes HOOKBRIDGE_REQUEST_INVALID. */
export function validationHook(result: { target: string; success: boolean; error?: z.ZodError }): void {
  if (result.success || !result.error) return
  throw new HookbridgeError('HOOKBRIDGE_REQUEST_INVALID', { detail: describeZodError(result.error, result.target) })
}

export function describeZodError(error: z.ZodError, target: string): string {
  const where = target === 'json' ? 'body' : target
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      let path = where
      for (const key of issue.path) path += typeof key === 'number' ? `[${key}]` : `.${String(key)}`
      return `${path}: ${issue.message}`
    })
    .join('; ')
}
