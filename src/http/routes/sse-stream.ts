// A Server-Sent Events body with bounded memory: the socket pulls events (node-server waits for 'drain'), and
// at most `maxBufferedMessages` wait here. When a slow reader lets more pile up, the oldest are dropped and the
// reader gets an `event: skipped` with their count before the next message.

export interface SseStreamOptions {
  maxBufferedMessages: number
  heartbeatMs: number
  /** Called once, when the stream ends for any reason (client gone, end(), error). */
  onClose: () => void
}

export interface SseStream {
  readable: ReadableStream<Uint8Array>
  /** Queue an event; drops the oldest queued one when full. */
  push(event: string, data: string, id?: string): void
  /** Put an event before everything queued (never dropped). */
  prepend(event: string, data: string): void
  /** Send a last `close` event after what is queued, then end the response. */
  end(reason: string): void
  /** Events dropped so far. */
  readonly skippedTotal: number
}

export function formatEvent(event: string, data: string, id?: string): string {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}`)
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\n${lines.join('\n')}\n\n`
}

export function createSseStream(options: SseStreamOptions): SseStream {
  const queue: string[] = []
  let skipped = 0
  let skippedTotal = 0
  let head: string | undefined
  let heartbeatDue = false
  let ending = false
  let closed = false
  let wake: (() => void) | undefined
  const encoder = new TextEncoder()

  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }
  const heartbeat = setInterval(() => {
    heartbeatDue = true
    notify()
  }, options.heartbeatMs)

  function close(): void {
    if (closed) return
    closed = true
    clearInterval(heartbeat)
    queue.length = 0
    notify()
    options.onClose()
  }

  const hasWork = () => head !== undefined || skipped > 0 || queue.length > 0 || heartbeatDue || ending

  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (!closed && !hasWork()) await new Promise<void>((resolve) => (wake = resolve))
        if (closed) return
        let chunk = head ?? ''
        head = undefined
        if (skipped > 0) {
          chunk += formatEvent('skipped', JSON.stringify({ count: skipped }))
          skipped = 0
        }
        const next = queue.shift()
        if (next !== undefined) chunk += next
        else if (heartbeatDue && chunk === '') chunk = ': keep-alive\n\n'
        heartbeatDue = false
        if (chunk !== '') controller.enqueue(encoder.encode(chunk))
        if (ending && queue.length === 0 && head === undefined && skipped === 0) {
          controller.close()
          close()
        }
      },
      cancel() {
        close()
      },
    },
    // Nothing is read ahead: a chunk is produced only when the socket asks for one.
    { highWaterMark: 0 },
  )

  return {
    readable,
    push(event, data, id) {
      if (closed || ending) return
      if (queue.length >= options.maxBufferedMessages) {
        queue.shift()
        skipped++
        skippedTotal++
      }
      queue.push(formatEvent(event, data, id))
      notify()
    },
    prepend(event, data) {
      if (closed) return
      head = formatEvent(event, data) + (head ?? '')
      notify()
    },
    end(reason) {
      if (closed || ending) return
      queue.push(formatEvent('close', JSON.stringify({ reason })))
      ending = true
      notify()
    },
    get skippedTotal() {
      return skippedTotal
    },
  }
}
