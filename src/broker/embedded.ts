// The embedded MQTT broker (aedes), started only when no broker URL is configured, so that `npm start` works on
// a bare machine. Sessions live in memory: a restart of hookbridge restarts the broker too.
import { createServer, type Server, type Socket } from 'node:net'
import { Aedes } from 'aedes'
import { HookbridgeError } from '../errors.js'
import type { Logger } from '../observability/logger.js'

export interface EmbeddedBroker {
  url: string
  port: number
  host: string
  aedes: Aedes
  close(): Promise<void>
}

export async function startEmbeddedBroker(options: {
  host: string
  port: number
  logger: Logger
}): Promise<EmbeddedBroker> {
  const aedes = await Aedes.createBroker()
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    // Nagle's algorithm holds small MQTT packets back for up to 40 ms: off, as on our client side.
    socket.setNoDelay(true)
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port, options.host, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()))
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') {
      throw new HookbridgeError(
        'HOOKBRIDGE_BROKER_PORT_IN_USE',
        { port: options.port, host: options.host },
        { cause: err },
      )
    }
    throw err
  }
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const connectHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host
  options.logger.info(
    { host: options.host, port },
    'embedded MQTT broker listening (set HOOKBRIDGE_MQTT_URL to use your own)',
  )
  return {
    url: `mqtt://${connectHost.includes(':') ? `[${connectHost}]` : connectHost}:${port}`,
    port,
    host: options.host,
    aedes,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
    },
  }
}
