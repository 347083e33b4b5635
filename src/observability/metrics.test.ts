// The API request counter is kept in plain numbers and handed to prom-client when read: the text is what
// counting each request in prom-client gave, however often it is read.
import { describe, expect, it } from 'vitest'
import { createMetrics } from './metrics.js'

const sources = {
  spool: () => ({ depth: 0, bytes: 0, leased: 0, deadLetters: 0, retrying: 0, oldestAgeMs: 0 }),
  mqttConnected: () => true,
  mqttReconnects: () => 0,
  backpressurePaused: () => false,
  rulesReloadFailed: () => false,
  rulesLoaded: () => 0,
}

const requestLines = (text: string) =>
  text.split('\n').filter((line) => line.startsWith('hookbridge_http_requests_total'))

describe('httpRequest', () => {
  it('counts per route, method and status, the same on every read', async () => {
    const metrics = createMetrics(sources)
    expect(requestLines(await metrics.registry.metrics())).toEqual([])
    for (let i = 0; i < 3; i++) metrics.httpRequest('/v1/publish/:topic{.+}', 'POST', 200, 0.002)
    metrics.httpRequest('/v1/publish/:topic{.+}', 'POST', 403, 0.001)
    const expected = [
      'hookbridge_http_requests_total{route="/v1/publish/:topic{.+}",method="POST",status="200"} 3',
      'hookbridge_http_requests_total{route="/v1/publish/:topic{.+}",method="POST",status="403"} 1',
    ]
    expect(requestLines(await metrics.registry.metrics())).toEqual(expected)
    expect(requestLines(await metrics.registry.metrics())).toEqual(expected)
    metrics.httpRequest('unmatched', 'GET', 404, 0.001)
    metrics.httpRequest('/v1/publish/:topic{.+}', 'POST', 200, 0.002)
    expect(requestLines(await metrics.registry.metrics())).toEqual([
      'hookbridge_http_requests_total{route="/v1/publish/:topic{.+}",method="POST",status="200"} 4',
      expected[1],
      'hookbridge_http_requests_total{route="unmatched",method="GET",status="404"} 1',
    ])
    expect(await metrics.registry.metrics()).toContain(
      'hookbridge_http_request_seconds_count{route="/v1/publish/:topic{.+}",method="POST"} 5',
    )
  })
})
