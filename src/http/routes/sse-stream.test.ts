import { afterEach, describe, expect, it } from 'vitest'
import { createSseStream, formatEvent, type SseStreamOptions } from './sse-stream.js'

const decoder = new TextDecoder()
const readers: ReadableStreamDefaultReader<Uint8Array>[] = []

afterEach(async () => {
  for (const reader of readers.splice(0)) await reader.cancel()
})

function open(options: Partial<SseStreamOptions> = {}) {
  const stream = createSseStream({ maxBufferedMessages: 10, heartbeatMs: 60_000, onClose: () => {}, ...options })
  const reader = stream.readable.getReader()
  readers.push(reader)
  return { stream, reader }
}

async function readEvents(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<string[]> {
  let text = ''
  while (text.split('\n\n').length - 1 < count) {
    const { value, done } = await reader.read()
    if (done) break
    text += decoder.decode(value)
  }
  return text.split('\n\n').filter((e) => e !== '')
}

describe('SSE stream', () => {
  it('formats multi-line data as several data lines', () => {
    expect(formatEvent('message', 'a\nb', '3')).toBe('id: 3\nevent: message\ndata: a\ndata: b\n\n')
  })

  it('delivers queued events in order, the prepended one first', async () => {
    const { stream, reader } = open()
    stream.push('message', '1')
    stream.push('message', '2')
    stream.prepend('subscribed', '{}')
    expect(await readEvents(reader, 3)).toEqual([
      'event: subscribed\ndata: {}',
      'event: message\ndata: 1',
      'event: message\ndata: 2',
    ])
  })

  it('keeps at most maxBufferedMessages for a reader that does not read, and says how many it skipped', async () => {
    const { stream, reader } = open({ maxBufferedMessages: 3 })
    for (let i = 1; i <= 10; i++) stream.push('message', String(i))
    expect(stream.skippedTotal).toBe(7)
    expect(await readEvents(reader, 4)).toEqual([
      'event: skipped\ndata: {"count":7}',
      'event: message\ndata: 8',
      'event: message\ndata: 9',
      'event: message\ndata: 10',
    ])
  })

  it('sends a keep-alive comment when idle', async () => {
    const { reader } = open({ heartbeatMs: 10 })
    const { value } = await reader.read()
    expect(decoder.decode(value)).toBe(': keep-alive\n\n')
  })

  it('ends with a close event after what is queued, and reports closing once', async () => {
    let closed = 0
    const { stream, reader } = open({ onClose: () => closed++ })
    stream.push('message', 'last')
    stream.end('server shutting down')
    stream.push('message', 'ignored')
    expect(await readEvents(reader, 10)).toEqual([
      'event: message\ndata: last',
      'event: close\ndata: {"reason":"server shutting down"}',
    ])
    expect((await reader.read()).done).toBe(true)
    expect(closed).toBe(1)
  })

  it('reports closing when the reader cancels', async () => {
    let closed = 0
    const { reader } = open({ onClose: () => closed++ })
    const pending = reader.read()
    await reader.cancel()
    await pending
    expect(closed).toBe(1)
  })
})
