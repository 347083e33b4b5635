// The webhook receiver every system posts to, in a process of its own: answers 200 at once, counts each phase's
// messages by `seq` (unique, duplicates, strays from other phases) and records publish-to-receipt latency.
import { createServer } from 'node:http'
import { serve } from '../lib/ipc.js'
import { monotonicUs } from '../lib/workload.js'

let run = Number.NaN
let expected = 0
let seen = new Uint8Array(0)
let latencyUs = new Float64Array(0)
let unique = 0
let total = 0
let duplicates = 0
let strays = 0
let malformed = 0
let firstUs = 0
let lastUs = 0
let connections = 0
let peakConnections = 0

function record(body: string): void {
  const at = monotonicUs()
  let message: { run?: unknown; seq?: unknown; t?: unknown }
  try {
    message = JSON.parse(body) as typeof message
  } catch {
    malformed++
    return
  }
  total++
  const seq = message.seq
  if (message.run !== run || typeof seq !== 'number' || seq < 0 || seq >= expected) {
    strays++
    return
  }
  if (seen[seq]) {
    duplicates++
    return
  }
  seen[seq] = 1
  if (unique === 0) firstUs = at
  lastUs = at
  latencyUs[unique++] = at - Number(message.t)
}

const server = createServer((req, res) => {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (chunk: string) => {
    body += chunk
  })
  req.on('end', () => {
    record(body)
    res.writeHead(200, { 'content-length': '0' })
    res.end()
  })
})
server.keepAliveTimeout = 60_000
server.headersTimeout = 65_000
server.requestTimeout = 0
server.on('connection', (socket) => {
  connections++
  if (connections > peakConnections) peakConnections = connections
  socket.setNoDelay(true)
  socket.on('close', () => connections--)
})

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

// A deep accept queue (net.core.somaxconn is 4096 here, Node's default 511): a client that opens thousands of
// connections at once (Node-RED's http request node under a burst) should meet its own limits, not ours.
server.listen({ port: Number(process.env.RECEIVER_PORT ?? 0), host: '127.0.0.1', backlog: 4096 }, () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  serve(
    {
      expect(args: { run: number; count: number }) {
        run = args.run
        expected = args.count
        seen = new Uint8Array(args.count)
        latencyUs = new Float64Array(args.count)
        unique = total = duplicates = strays = malformed = firstUs = lastUs = 0
        peakConnections = connections
      },
      stats() {
        return { run, expected, unique, total, duplicates, strays, malformed, firstUs, lastUs, peakConnections }
      },
      latency() {
        const sorted = latencyUs.slice(0, unique).sort()
        return {
          count: unique,
          p50Ms: percentile(sorted, 50) / 1000,
          p99Ms: percentile(sorted, 99) / 1000,
          maxMs: unique === 0 ? Number.NaN : sorted[unique - 1]! / 1000,
        }
      },
    },
    { port },
  )
})
