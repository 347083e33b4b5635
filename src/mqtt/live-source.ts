// What the HTTP API's subscribe stream (SSE) needs from the MQTT side; the core implements it on its connection.

export interface LiveMessage {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  /** MQTT 5 properties as MQTT.js gives them (Buffers for binary ones such as correlationData). */
  properties?: Record<string, unknown>
}

export interface LiveSource {
  /**
   * Subscribe to `filter` (plain MQTT: no $share, no named wildcards) and call `onMessage` for every message whose
   * topic matches it. Resolves once the broker has granted the subscription; rejects with a catalogue error
   * otherwise. The returned function ends the subscription.
   */
  subscribe(filter: string, onMessage: (message: LiveMessage) => void): Promise<() => Promise<void>>
}
