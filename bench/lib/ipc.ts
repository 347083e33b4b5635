// Request/response over a forked child's IPC channel: the orchestrator drives the publisher, the receiver and the
// raw systems with `call(command, args)`; the child answers with `serve(handlers)`.
import type { ChildProcess } from 'node:child_process'

interface Request {
  id: number
  command: string
  args: unknown
}

interface Response {
  id: number
  ok: boolean
  value?: unknown
  error?: string
}

export type Handlers = Record<string, (args: never) => unknown>

export interface Channel {
  call<T = unknown>(command: string, args?: unknown, timeoutMs?: number): Promise<T>
}

export function channelTo(child: ChildProcess): Channel {
  let nextId = 1
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  child.on('message', (message: Response) => {
    const waiter = pending.get(message.id)
    if (!waiter) return
    pending.delete(message.id)
    if (message.ok) waiter.resolve(message.value)
    else waiter.reject(new Error(message.error))
  })
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`child exited (${code ?? signal})`))
    pending.clear()
  })
  return {
    call<T>(command: string, args?: unknown, timeoutMs = 600_000): Promise<T> {
      const id = nextId++
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          reject(new Error(`${command}: no answer within ${timeoutMs} ms`))
        }, timeoutMs)
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer)
            resolve(v as T)
          },
          reject: (e) => {
            clearTimeout(timer)
            reject(e)
          },
        })
        child.send({ id, command, args } satisfies Request)
      })
    },
  }
}

/** In the child: answer the orchestrator's calls. Tells the parent `{ ready: true }` once listening. */
export function serve(handlers: Handlers, ready: unknown = true): void {
  if (!process.send) throw new Error('not started with an IPC channel (use fork)')
  process.on('message', async (request: Request) => {
    let response: Response
    try {
      const handler = handlers[request.command]
      if (!handler) throw new Error(`unknown command ${request.command}`)
      response = { id: request.id, ok: true, value: await handler(request.args as never) }
    } catch (err) {
      response = { id: request.id, ok: false, error: (err as Error).stack ?? String(err) }
    }
    process.send?.(response)
  })
  // Exit normally on SIGTERM and when the parent goes: a --cpu-prof child writes its profile only then.
  process.on('SIGTERM', () => process.exit(0))
  process.on('disconnect', () => process.exit(0))
  process.send({ id: 0, ok: true, value: ready } satisfies Response)
}
