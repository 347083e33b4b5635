// A real HTTP receiver on a loopback port, scriptable per request: answer with a status, delay, hang or reset.
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
  at: number
}

export interface Reply {
  status?: number
  headers?: Record<string, string>
  body?: string | Buffer
  /** Wait this long before answering. */
  delayMs?: number
  /** Never answer (the client must time out). */
  hang?: boolean
  /** Destroy the connection without an answer. */
  reset?: boolean
}

export type Responder = (request: ReceivedRequest, index: number) => Reply | undefined

export interface TestReceiver {
  port: number
  url: string
  /** Every request received, in arrival order (those answered with an error included). */
  requests: ReceivedRequest[]
  /** Change how the next requests are answered; `undefined` answers 200. */
  respond(responder: Responder | undefined): void
  close(): Promise<void>
}

export async function startReceiver(responder?: Responder): Promise<TestReceiver> {
  const requests: ReceivedRequest[] = []
  let current = responder
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
      }
      const index = requests.push(request) - 1
      const reply = current?.(request, index) ?? {}
      answer(res, reply)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('receiver: no port')
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    requests,
    respond(next) {
      current = next
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function answer(res: ServerResponse, reply: Reply): void {
  if (reply.hang) return
  if (reply.reset) {
    res.socket?.destroy()
    return
  }
  const send = () => {
    res.writeHead(reply.status ?? 200, reply.headers ?? { 'content-type': 'text/plain' })
    res.end(reply.body ?? 'ok')
  }
  if (reply.delayMs) setTimeout(send, reply.delayMs)
  else send()
}
