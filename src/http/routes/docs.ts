// GET /openapi.json, generated from the zod schemas that validate the requests, and GET /docs, a
// self-contained HTML page rendered from that document on the server: no scripts, no CDN, works offline.
import type { App, AppDeps } from '../app.js'
import { type OpenApiDocument, renderDocsPage } from './docs-page.js'

export function addDocsRoutes(app: App, deps: Pick<AppDeps, 'version'>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A token from api.tokens; not needed when no tokens are configured (loopback only).',
  })
  const documentConfig = {
    openapi: '3.0.3',
    info: {
      title: 'hookbridge HTTP API',
      version: deps.version,
      description:
        'Publish into MQTT with one HTTP call and know whether it happened; stream MQTT messages as Server-Sent ' +
        'Events. Every error is `{ "error": { "code", "message" } }`.',
    },
  }
  let cached: OpenApiDocument | undefined
  const document = () => {
    cached ??= app.getOpenAPIDocument(documentConfig) as unknown as OpenApiDocument
    return cached
  }
  app.get('/openapi.json', (c) => c.json(document()))
  app.get('/docs', (c) => {
    c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
    return c.html(renderDocsPage(document()))
  })
}
