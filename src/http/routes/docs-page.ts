// The OpenAPI document as one HTML page: endpoints, parameters, bodies, responses and schemas, inline CSS only.

interface MediaType {
  schema?: unknown
}
interface Parameter {
  name: string
  in: string
  required?: boolean
  description?: string
  schema?: unknown
}
interface Operation {
  summary?: string
  description?: string
  security?: unknown[]
  parameters?: Parameter[]
  requestBody?: { required?: boolean; content?: Record<string, MediaType> }
  responses?: Record<string, { description?: string; content?: Record<string, MediaType> }>
}
export interface OpenApiDocument {
  info: { title: string; version: string; description?: string }
  paths: Record<string, Record<string, Operation>>
  components?: { schemas?: Record<string, unknown> }
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete']

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{margin-bottom:0}h2{margin-top:2.5rem;border-top:1px solid #ddd;padding-top:1rem;font-size:1.2rem}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f5;border-radius:4px}code{padding:0 .25rem}
pre{padding:.75rem;overflow:auto}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.m{display:inline-block;min-width:3.5rem;font-weight:700;color:#fff;background:#2563eb;border-radius:4px;
text-align:center;margin-right:.5rem}.m.get{background:#16a34a}.muted{color:#666}`

export function renderDocsPage(doc: OpenApiDocument): string {
  const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method]! })),
  )
  const toc = operations
    .map(
      ({ path, method, op }) =>
        `<li><a href="#${anchor(method, path)}">${badge(method)}<code>${esc(path)}</code></a> ${text(op.summary)}</li>`,
    )
    .join('')
  const sections = operations.map(({ path, method, op }) => renderOperation(path, method, op)).join('')
  const schemas = Object.entries(doc.components?.schemas ?? {})
    .map(([name, schema]) => `<h3 id="schema-${esc(name)}">${esc(name)}</h3>${renderSchema(schema)}`)
    .join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(doc.info.title)}</title><style>${STYLE}</style></head><body>
<h1>${esc(doc.info.title)}</h1><p class="muted">version ${esc(doc.info.version)} · <a href="/openapi.json">openapi.json</a></p>
<p>${text(doc.info.description)}</p><ul>${toc}</ul>${sections}
<h2 id="schemas">Schemas</h2>${schemas}</body></html>`
}

function renderOperation(path: string, method: string, op: Operation): string {
  const parts = [`<h2 id="${anchor(method, path)}">${badge(method)}<code>${esc(path)}</code></h2>`]
  if (op.summary) parts.push(`<p><strong>${text(op.summary)}</strong></p>`)
  if (op.description) parts.push(`<p>${text(op.description)}</p>`)
  if (op.security && op.security.length > 0) {
    parts.push('<p class="muted">Needs <code>Authorization: Bearer &lt;token&gt;</code> when api.tokens is set.</p>')
  }
  if (op.parameters && op.parameters.length > 0) {
    const rows = op.parameters
      .map(
        (p) =>
          `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? 'yes' : ''}</td>` +
          `<td>${esc(typeOf(p.schema))}</td><td>${text(p.description ?? describe(p.schema))}</td></tr>`,
      )
      .join('')
    parts.push(
      `<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>required</th><th>type</th><th></th></tr>${rows}</table>`,
    )
  }
  if (op.requestBody?.content) {
    parts.push('<h3>Request body</h3>')
    for (const [type, media] of Object.entries(op.requestBody.content)) {
      parts.push(`<p><code>${esc(type)}</code></p>${renderSchema(media.schema)}`)
    }
  }
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => {
      const types = Object.entries(r.content ?? {})
        .map(([type, media]) => `<code>${esc(type)}</code> ${schemaLink(media.schema)}`)
        .join('<br>')
      return `<tr><td>${esc(status)}</td><td>${text(r.description)}</td><td>${types}</td></tr>`
    })
    .join('')
  parts.push(`<h3>Responses</h3><table><tr><th>status</th><th>meaning</th><th>body</th></tr>${responses}</table>`)
  return parts.join('\n')
}

function renderSchema(schema: unknown): string {
  if (schema === undefined) return ''
  const json = esc(JSON.stringify(schema, null, 2))
  return `<pre>${json.replace(/&#34;#\/components\/schemas\/([\w.-]+)&#34;/g, (_m, name: string) => `<a href="#schema-${name}">${name}</a>`)}</pre>`
}

function schemaLink(schema: unknown): string {
  const ref = (schema as { $ref?: string } | undefined)?.$ref
  if (ref?.startsWith('#/components/schemas/')) {
    const name = esc(ref.slice('#/components/schemas/'.length))
    return `<a href="#schema-${name}">${name}</a>`
  }
  return schema === undefined ? '' : esc(typeOf(schema))
}

function typeOf(schema: unknown): string {
  const s = schema as { type?: string; enum?: unknown[]; anyOf?: unknown[] } | undefined
  if (s?.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ')
  if (s?.anyOf) return s.anyOf.map(typeOf).join(' | ')
  return s?.type ?? ''
}

function describe(schema: unknown): string {
  return (schema as { description?: string } | undefined)?.description ?? ''
}

function anchor(method: string, path: string): string {
  return `${method}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`
}

function badge(method: string): string {
  return `<span class="m ${method}">${method.toUpperCase()}</span>`
}

/** Escaped text with `code` spans. */
function text(value: string | undefined): string {
  return esc(value ?? '').replace(/`([^`]+)`/g, '<code>$1</code>')
}

function esc(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}
