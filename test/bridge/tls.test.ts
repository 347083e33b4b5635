// mqtts:// with a CA, a client certificate and key, and a user name and password, against a mosquitto TLS
// listener that requires all of them. Certificates are made for the test with openssl.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestBridge } from '../helpers/bridge.js'
import { startMosquittoAsCurrentUser } from '../helpers/mosquitto-user.js'
import { startReceiver } from '../helpers/receiver.js'
import { waitFor } from '../helpers/wait.js'

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

describe.runIf(hasOpenssl)('mqtts:// with client certificates and a password', () => {
  let dir: string
  const file = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hookbridge-tls-'))
    openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=test-ca',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
    )
    for (const name of ['server', 'client']) {
      openssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${name}`,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
      )
      writeFileSync(
        file(`${name}.ext`),
        name === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n',
      )
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      )
    }
    writeFileSync(file('passwords'), '')
    execFileSync('mosquitto_passwd', ['-b', file('passwords'), 'hookbridge', 's3cret-pw'], { stdio: 'ignore' })
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('connects with the CA, the client certificate and the password, and delivers', async () => {
    const broker = await startMosquittoAsCurrentUser({
      extraConfig: [
        `cafile ${file('ca.pem')}`,
        `certfile ${file('server.pem')}`,
        `keyfile ${file('server.key')}`,
        'require_certificate true',
        `password_file ${file('passwords')}`,
        'allow_anonymous false',
      ],
    })
    const receiver = await startReceiver()
    const url = `mqtts://127.0.0.1:${broker.port}`
    const hb = await startTestBridge({
      mqttUrl: url,
      config: {
        mqtt: {
          url,
          ca: file('ca.pem'),
          cert: file('client.pem'),
          key: file('client.key'),
          username: 'hookbridge',
          password: 's3cret-pw',
          reconnectMinMs: 50,
        },
      },
      rules: { secure: { from: { topic: 'secure/#' }, to: { url: `${receiver.url}/secure` } } },
    })
    const device = await mqtt.connectAsync(url, {
      protocolVersion: 5,
      ca: readFileSync(file('ca.pem')),
      cert: readFileSync(file('client.pem')),
      key: readFileSync(file('client.key')),
      username: 'hookbridge',
      password: 's3cret-pw',
    })
    try {
      await waitFor(() => hb.bridge.readiness().ready, { what: 'ready over TLS' })
      await device.publishAsync('secure/a', 'over tls', { qos: 1 })
      await waitFor(() => receiver.requests.length === 1, { what: 'webhook' })
      expect(receiver.requests[0]!.body.toString()).toBe('over tls')
    } finally {
      await device.endAsync()
      await hb.close()
      await receiver.close()
      await broker.close()
    }
  })
})
