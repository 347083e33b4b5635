// The one place that listens for HTTP. close() stops accepting, ends subscribe streams (a last `close` event),
// closes idle keep-alive sockets at once and waits a bounded time for requests in flight.
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { HookbridgeError } from '../errors.js'
import { endStreams } from './app.js'

export interface HttpServerOptions {
  host: string
  port: number
  /** How long close() waits for requests in flight before cutting their connections. */
  shutdownGraceMs?: number
  /** Deadline for receiving a whole request (headers and body), against slow senders. */
  requestTimeoutMs?: number
}

export interface HttpServer {
  port: number
  close(): Promise<void>
}

interface FetchApp {
  fetch: (request: Request, ...rest: never[]) => Response | Promise<Response>
}

export async function startHttpServer(app: FetchApp, options: HttpServerOptions): Promise<HttpServer> {
  const { host } = options
  const server = createAdaptorServer({
    fetch: app.fetch as Parameters<typeof createAdaptorServer>[0]['fetch'],
    hostname: host,
  }) as Server
  server.requestTimeout = options.requestTimeoutMs ?? 30_000
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening)
      if (err.code === 'EADDRINUSE')
        reject(new HookbridgeError('HOOKBRIDGE_HTTP_PORT_IN_USE', { host, port: options.port }))
      else reject(err)
    }
    const onListening = () => {
      server.off('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(options.port, host)
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('HTTP server: no port')

  let closing: Promise<void> | undefined
  async function close(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    endStreams(app, 'server shutting down')
    const deadline = Date.now() + (options.shutdownGraceMs ?? 5_000)
    // Sockets become idle as their last response ends; close each as soon as it does.
    const sweep = setInterval(() => {
      server.closeIdleConnections()
      if (Date.now() >= deadline) {
        for (const socket of sockets) socket.destroy()
      }
    }, 25)
    server.closeIdleConnections()
    await closed
    clearInterval(sweep)
  }

  return {
    port: address.port,
    close: () => {
      closing ??= close()
      return closing
    },
  }
}
