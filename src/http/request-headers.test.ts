// requestHeader gives what c.req.header gives, behind @hono/node-server (a real port) and with app.request().
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { requestHeader } from './request-headers.js'

const NAMES = ['mqtt-qos', 'mqtt-user-property', 'idempotency-key', 'content-type', 'x-absent']

function app(): Hono {
  const hono = new Hono()
  hono.post('/', (c) =>
    c.json(
      Object.fromEntries(NAMES.map((name) => [name, [requestHeader(c, name) ?? null, c.req.header(name) ?? null]])),
    ),
  )
  return hono
}

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

/** Raw header lines, so that duplicates and odd spacing reach the server as written. */
function post(port: number, headers: Array<[string, string]>): Promise<Record<string, [unknown, unknown]>> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/',
        headers: [['Host', '127.0.0.1'], ['Content-Length', '1'], ...headers].flat(),
      },
      (res) => {
        let body = ''
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => {
          try {
            resolve(JSON.parse(body))
          } catch {
            reject(new Error(`${res.statusCode}: ${body}`))
          }
        })
      },
    )
    req.on('error', reject)
    req.end('x')
  })
}

describe('requestHeader', () => {
  it('answers as c.req.header behind @hono/node-server: absent, present, repeated, padded', async () => {
    const server = createAdaptorServer({ fetch: app().fetch })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    close = () => new Promise((resolve) => server.close(() => resolve()))
    const port = (server.address() as AddressInfo).port
    const cases: Array<Array<[string, string]>> = [
      [],
      [['MQTT-QoS', '1']],
      [
        ['MQTT-User-Property', 'a=1'],
        ['mqtt-user-property', ' b=2 '],
      ],
      [
        ['Content-Type', 'text/plain'],
        ['Content-Type', 'application/json'],
        ['Idempotency-Key', '  k-1'],
      ],
    ]
    for (const headers of cases) {
      const seen = await post(port, headers)
      for (const name of NAMES) expect(seen[name][0], `${name} with ${JSON.stringify(headers)}`).toEqual(seen[name][1])
    }
  })

  it('answers as c.req.header with app.request()', async () => {
    const res = await app().request('/', { method: 'POST', body: 'x', headers: { 'MQTT-QoS': '2' } })
    const seen = (await res.json()) as Record<string, [unknown, unknown]>
    for (const name of NAMES) expect(seen[name][0]).toEqual(seen[name][1])
    expect(seen['mqtt-qos'][0]).toBe('2')
  })
})
