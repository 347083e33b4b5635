// The error catalogue: every failure hookbridge reports has one stable code here.
// README.md's "Error codes" table lists exactly these codes (test/errors-catalogue.test.ts checks it).

export interface ErrorDefinition {
  /** What went wrong and what to do, as a template; `{name}` is filled from the details. */
  readonly message: string
  /** HTTP status when the error is answered by the HTTP API. */
  readonly status?: number
  /** Whether a delivery that failed with this error is worth retrying. */
  readonly retryable?: boolean
}

export const errorCatalogue = {
  // Configuration and start-up
  HOOKBRIDGE_CONFIG_INVALID: { message: 'Invalid configuration: {detail}' },
  HOOKBRIDGE_CONFIG_FILE_UNREADABLE: { message: 'Cannot read config file {file}: {detail}' },
  HOOKBRIDGE_BROKER_PORT_IN_USE: {
    message:
      'The embedded MQTT broker cannot listen on port {port}: it is already in use. Set HOOKBRIDGE_BROKER_PORT to a free port, or set HOOKBRIDGE_MQTT_URL to use the broker that is already running.',
  },
  HOOKBRIDGE_HTTP_PORT_IN_USE: {
    message:
      'The HTTP API cannot listen on {host}:{port}: it is already in use. Set HOOKBRIDGE_HTTP_PORT to a free port.',
  },
  HOOKBRIDGE_CLI_USAGE: { message: '{detail}. Run `hookbridge --help` for usage.' },

  // Rules
  HOOKBRIDGE_RULE_INVALID: { message: '{detail}', status: 400 },
  HOOKBRIDGE_RULES_RELOAD_FAILED: {
    message: 'The rules were not reloaded; the previous ones keep running. Fix these and reload again: {detail}',
    status: 422,
  },
  HOOKBRIDGE_RULES_DIR_MISSING: {
    message: 'Rules directory {dir} does not exist. Create it, or point HOOKBRIDGE_RULES (or --rules) at your rules.',
  },

  // Topics
  HOOKBRIDGE_TOPIC_INVALID: { message: 'Invalid topic "{topic}": {detail}', status: 400 },
  HOOKBRIDGE_FILTER_INVALID: { message: 'Invalid topic filter "{filter}": {detail}', status: 400 },

  // Message path
  HOOKBRIDGE_TRANSFORM_FAILED: { message: 'Rule {rule}: {stage} failed: {detail}', retryable: false },
  HOOKBRIDGE_TEMPLATE_FAILED: { message: 'Rule {rule}: could not compute {field}: {detail}', retryable: false },
  HOOKBRIDGE_PAYLOAD_TOO_LARGE: {
    message:
      'Rule {rule}: the payload has {bytes} bytes, more than limits.maxPayloadBytes ({maxBytes}); it was not parsed. Raise HOOKBRIDGE_MAX_PAYLOAD_BYTES if such payloads are expected.',
    retryable: false,
  },
  HOOKBRIDGE_HOST_NOT_ALLOWED: {
    message:
      'Rule {rule}: computed URL host {host} is not in to.allowedHosts. Add it there if it is meant to be reached.',
    retryable: false,
  },

  // Delivery
  HOOKBRIDGE_DELIVERY_TIMEOUT: { message: 'No response from {url} within {timeoutMs} ms', retryable: true },
  HOOKBRIDGE_DELIVERY_CONNECTION: { message: 'Could not reach {url}: {detail}', retryable: true },
  HOOKBRIDGE_DELIVERY_STATUS: { message: '{url} answered HTTP {status}', retryable: true },
  HOOKBRIDGE_DELIVERY_INVALID_REQUEST: {
    message: 'The request to {url} cannot be sent: {detail}. Fix the rule; retrying would not help.',
    retryable: false,
  },

  // HTTP API
  HOOKBRIDGE_HTTP_UNSAFE_BINDING: {
    message:
      'Refusing to serve the HTTP API on {host} without tokens: anyone who can reach it could publish. Add api.tokens, or listen on loopback only (HOOKBRIDGE_HTTP_HOST=127.0.0.1).',
  },
  HOOKBRIDGE_REQUEST_INVALID: { message: 'Invalid request: {detail}', status: 400 },
  HOOKBRIDGE_PROPERTIES_UNSUPPORTED: {
    message:
      'MQTT 5 properties ({names}) cannot be sent: the broker connection uses MQTT 3.1.1. Remove them, or set mqtt.protocolVersion to 5.',
    status: 400,
  },
  HOOKBRIDGE_UNAUTHORIZED: {
    message: '{detail}. Send `Authorization: Bearer <token>` with a token listed in api.tokens.',
    status: 401,
  },
  HOOKBRIDGE_FORBIDDEN: {
    message:
      'Token "{token}" may not {action} "{topic}": it matches none of its {list} filters. Add a filter that covers it to api.tokens[].{list}.',
    status: 403,
  },
  HOOKBRIDGE_NOT_FOUND: {
    message: 'No route for {method} {path}. The API is described at /docs and /openapi.json.',
    status: 404,
  },
  HOOKBRIDGE_BODY_TOO_LARGE: {
    message: 'The request body is larger than {maxBytes} bytes. Send a smaller body, or raise api.maxBodyBytes.',
    status: 413,
  },
  HOOKBRIDGE_UNSUPPORTED_MEDIA_TYPE: {
    message: 'Content-Type "{contentType}" is not accepted here: send {expected}.',
    status: 415,
  },
  HOOKBRIDGE_IDEMPOTENCY_KEY_REUSED: {
    message:
      'Idempotency-Key "{key}" was already used for a different request within the last {windowMs} ms. Use a new key for a new request.',
    status: 422,
  },
  HOOKBRIDGE_RATE_LIMITED: {
    message:
      'Too many requests for token "{token}" (api.rateLimit: {requestsPerSecond}/s, burst {burst}). Retry after {retryAfterSeconds} s.',
    status: 429,
  },
  HOOKBRIDGE_INTERNAL: {
    message: 'Internal error ({detail}). This is a bug: please report it with the matching log line.',
    status: 500,
  },
  HOOKBRIDGE_PUBLISH_REJECTED: {
    message:
      'The broker refused the message on "{topic}" with reason code {reasonCode} ({reason}); nothing was published. Check the broker ACL and limits.',
    status: 502,
  },
  HOOKBRIDGE_SUBSCRIBE_REJECTED: {
    message: 'The broker refused the subscription to "{filter}" (reason code {reasonCode}). Check the broker ACL.',
    status: 502,
  },
  HOOKBRIDGE_BROKER_UNAVAILABLE: {
    message: 'The MQTT broker is not available ({detail}). Retry after {retryAfterSeconds} s.',
    status: 503,
  },
  HOOKBRIDGE_NOT_READY: { message: 'Not ready: {detail}', status: 503 },
  HOOKBRIDGE_SSE_LIMIT: {
    message: '{maxStreams} subscribe streams are already open (api.sse.maxStreams). Close one, or raise the limit.',
    status: 503,
  },
  HOOKBRIDGE_PUBLISH_UNCONFIRMED: {
    message:
      'Delivery unconfirmed: the message on "{topic}" was sent, but {detail}. It may or may not have been published, and hookbridge will not send it again: retry if a duplicate is acceptable.',
    status: 504,
  },

  // Dead letters
  HOOKBRIDGE_DEAD_LETTER_NOT_FOUND: {
    message: 'No dead letter with id "{id}". List them with `GET /v1/dlq` or `hookbridge dlq list`.',
    status: 404,
  },
  HOOKBRIDGE_DLQ_FORBIDDEN: {
    message:
      'Token "{token}" may not use the dead letters (/v1/dlq): only admin tokens may. Use a token with `admin: true` in api.tokens.',
    status: 403,
  },
  HOOKBRIDGE_DLQ_UNREACHABLE: {
    message:
      'Cannot use the hookbridge HTTP API at {url}: {detail}. Pass --url (default: api.host and api.port of the config).',
  },
  HOOKBRIDGE_DLQ_NO_SPOOL: {
    message:
      'Nothing listens at {url} and there is no spool file to open instead: {detail}. Start hookbridge, pass --url, or point --data-dir at its data directory.',
  },

  // Rules API
  HOOKBRIDGE_RULE_NOT_FOUND: {
    message: 'No rule named "{name}" is loaded (a disabled rule is not). `GET /v1/rules` lists the loaded rules.',
    status: 404,
  },

  // Republish, replies, signing
  HOOKBRIDGE_REPUBLISH_LOOP: {
    message:
      'Rule {rule}: "{topic}" matches the rule\'s own filter {filter}, so republishing it would feed the message back into the rule; it was not published. Change the target topic or the filters.',
    retryable: false,
  },
  HOOKBRIDGE_REPUBLISH_UNAVAILABLE: {
    message: 'Could not republish to "{topic}": {detail}',
    retryable: true,
  },
  HOOKBRIDGE_REPUBLISH_REJECTED: {
    message:
      'The broker refused the message republished to "{topic}" with reason code {reasonCode} ({reason}). Check the broker ACL and limits.',
    retryable: false,
  },
  HOOKBRIDGE_REPLY_FAILED: {
    message: 'Rule {rule}: the reply to delivery {deliveryId} was not published to "{topic}": {detail}',
  },

  // Inbound hooks and request/response
  HOOKBRIDGE_HOOK_NOT_FOUND: {
    message:
      'No inbound hook named "{name}" is loaded (a disabled rule is not). A hook is a rule whose `from` is `hook:`; its URL is POST /v1/hooks/<from.hook.name or the rule name>.',
    status: 404,
  },
  HOOKBRIDGE_HOOK_SIGNATURE_INVALID: {
    message: 'Hook "{hook}": {detail}; nothing was published.',
    status: 401,
  },
  HOOKBRIDGE_HOOK_TRANSFORM_FAILED: {
    message: 'Hook "{hook}": {detail}; nothing was published. Fix the rule, or send a body it can handle.',
    status: 422,
  },
  HOOKBRIDGE_MQTT5_REQUIRED: {
    message:
      '{feature} needs MQTT 5 (response topic and correlation data), but the broker connection uses MQTT 3.1.1. Set mqtt.protocolVersion to 5 and use an MQTT 5 broker (the embedded broker speaks 3.1.1 only).',
    status: 501,
  },
  HOOKBRIDGE_REPLY_TIMEOUT: {
    message:
      'No reply to the request on "{topic}" came within {timeoutMs} ms. The request was published and a responder may still act on it: retry only if that is safe.',
    status: 504,
  },

  // MQTT
  HOOKBRIDGE_MQTT_CONNECT_FAILED: { message: 'Cannot connect to MQTT broker {url}: {detail}' },
  HOOKBRIDGE_MQTT_SUBSCRIBE_DENIED: {
    message:
      'The broker refused the subscription to {filter} (reason code {reasonCode}). Check the broker ACL for this client.',
  },
} as const satisfies Record<string, ErrorDefinition>

export type ErrorCode = keyof typeof errorCatalogue

export class HookbridgeError extends Error {
  readonly code: ErrorCode
  readonly status: number | undefined
  readonly retryable: boolean
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    const def: ErrorDefinition = errorCatalogue[code]
    super(fill(def.message, details), options)
    this.name = 'HookbridgeError'
    this.code = code
    this.status = def.status
    this.retryable = def.retryable ?? false
    this.details = details
  }
}

function fill(template: string, details: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in details ? String(details[key]) : whole))
}

export function isHookbridgeError(err: unknown, code?: ErrorCode): err is HookbridgeError {
  return err instanceof HookbridgeError && (code === undefined || err.code === code)
}
