// Every setting that has an environment variable or a flag, in one table. The README's configuration
// table lists exactly these (test/readme.test.ts checks it).

export interface Setting {
  /** Dotted path in the config file and in the parsed Config. */
  path: string
  env: string
  flag?: string
  description: string
}

export const settings: readonly Setting[] = [
  {
    path: 'mqtt.url',
    env: 'HOOKBRIDGE_MQTT_URL',
    flag: '--mqtt-url',
    description: 'Broker to use; unset starts the embedded broker',
  },
  {
    path: 'mqtt.protocolVersion',
    env: 'HOOKBRIDGE_MQTT_PROTOCOL_VERSION',
    description: '5 (MQTT 5) or 4 (MQTT 3.1.1)',
  },
  {
    path: 'mqtt.clientId',
    env: 'HOOKBRIDGE_MQTT_CLIENT_ID',
    description: 'MQTT client id (keeps the persistent session)',
  },
  { path: 'mqtt.username', env: 'HOOKBRIDGE_MQTT_USERNAME', description: 'Broker user name' },
  { path: 'mqtt.password', env: 'HOOKBRIDGE_MQTT_PASSWORD', description: 'Broker password (never logged)' },
  { path: 'mqtt.ca', env: 'HOOKBRIDGE_MQTT_CA', description: 'PEM file of the CA for mqtts://' },
  { path: 'mqtt.cert', env: 'HOOKBRIDGE_MQTT_CERT', description: 'PEM client certificate for mqtts://' },
  { path: 'mqtt.key', env: 'HOOKBRIDGE_MQTT_KEY', description: 'PEM client key for mqtts://' },
  {
    path: 'mqtt.sessionExpirySec',
    env: 'HOOKBRIDGE_MQTT_SESSION_EXPIRY_SEC',
    description: 'How long the broker keeps our session while we are away',
  },
  {
    path: 'broker.port',
    env: 'HOOKBRIDGE_BROKER_PORT',
    flag: '--broker-port',
    description: 'Port of the embedded broker',
  },
  { path: 'broker.host', env: 'HOOKBRIDGE_BROKER_HOST', description: 'Address the embedded broker listens on' },
  { path: 'api.port', env: 'HOOKBRIDGE_HTTP_PORT', flag: '--http-port', description: 'Port of the HTTP API' },
  { path: 'api.host', env: 'HOOKBRIDGE_HTTP_HOST', description: 'Address the HTTP API listens on' },
  { path: 'rules', env: 'HOOKBRIDGE_RULES', flag: '--rules', description: 'Directory of rule files' },
  {
    path: 'dataDir',
    env: 'HOOKBRIDGE_DATA_DIR',
    flag: '--data-dir',
    description: 'Directory for the spool and other state',
  },
  {
    path: 'logLevel',
    env: 'HOOKBRIDGE_LOG_LEVEL',
    flag: '--log-level',
    description: 'fatal, error, warn, info, debug, trace or silent',
  },
  {
    path: 'spool.mode',
    env: 'HOOKBRIDGE_SPOOL_MODE',
    flag: '--spool-mode',
    description: 'durable (SQLite in the data dir) or memory (volatile)',
  },
  { path: 'spool.maxBytes', env: 'HOOKBRIDGE_SPOOL_MAX_BYTES', description: 'Pending bytes past which intake pauses' },
  { path: 'spool.maxJobs', env: 'HOOKBRIDGE_SPOOL_MAX_JOBS', description: 'Pending jobs past which intake pauses' },
  {
    path: 'spool.windowJobs',
    env: 'HOOKBRIDGE_SPOOL_WINDOW_JOBS',
    description: 'Pending jobs the durable spool holds in memory (5,000 while retrying); the rest wait in the file',
  },
  {
    path: 'spool.windowBytes',
    env: 'HOOKBRIDGE_SPOOL_WINDOW_BYTES',
    description: 'Bytes of pending jobs the durable spool holds in memory',
  },
  {
    path: 'spool.deferWriteMs',
    env: 'HOOKBRIDGE_SPOOL_DEFER_WRITE_MS',
    description: 'How long the durable spool waits for a delivery before it writes the job (0: no wait)',
  },
  {
    path: 'limits.maxPayloadBytes',
    env: 'HOOKBRIDGE_MAX_PAYLOAD_BYTES',
    description: 'Largest MQTT payload a rule parses',
  },
  {
    path: 'limits.expressionTimeoutMs',
    env: 'HOOKBRIDGE_EXPRESSION_TIMEOUT_MS',
    description: 'Time limit of one JSONata evaluation',
  },
  {
    path: 'delivery.concurrencyPerOrigin',
    env: 'HOOKBRIDGE_CONCURRENCY_PER_ORIGIN',
    description: 'In-flight webhook requests per origin',
  },
]

/** Not settings of the config file, but read by the CLI. */
export const configFileEnv = 'HOOKBRIDGE_CONFIG'
export const configFileFlag = '--config'
