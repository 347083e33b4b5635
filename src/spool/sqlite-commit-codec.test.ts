// The commit buffer the writer thread reads: what the decoder (run as text in that thread) gets back must be
// exactly INSERT_JOB_SQL's parameters (jobParams) and the ops encoded, texts in any script, nulls, empty values
// and blobs included, whatever buffer the encoder reused or had to grow.
import { describe, expect, it } from 'vitest'
import type { NewJob } from './spool.js'
import { CommitEncoder, DECODER_SOURCE, type InsertRow } from './sqlite-commit-codec.js'
import { jobParams } from './sqlite-schema.js'
import type { WriterOp } from './sqlite-writer.js'

const decodeCommit = new Function(`${DECODER_SOURCE}; return decodeCommit`)() as (buffer: ArrayBuffer | Uint8Array) => {
  inserts: unknown[][]
  windowed: boolean[]
  ops: unknown[][]
  end: number
}

const job = (seq: number, text: string, orderKey: string | null, properties?: Record<string, unknown>): NewJob => ({
  id: `id-${seq}-${text}`,
  rule: 'rule',
  target: 'target',
  orderKey,
  message: {
    topic: `sensors/${text}/t`,
    payload: Buffer.from(`{"t":"${text}"}`),
    qos: 2,
    retain: true,
    receivedAt: 1_700_000_000_000,
    ...(properties && { properties }),
  },
  request: {
    method: 'POST',
    url: `https://example.com/${encodeURIComponent(text)}`,
    headers: { 'x-text': text },
    body: Buffer.alloc(0),
  },
})

const row = (seq: number, text: string, orderKey: string | null, properties?: Record<string, unknown>): InsertRow => ({
  seq,
  job: job(seq, text, orderKey, properties),
  createdAt: 1_700_000_000_123,
  bytes: 123_456,
})

/** What the writer thread binds for a row: jobParams, with the entry's state when it was attempted. */
const expected = ({ seq, job, createdAt, bytes, entry }: InsertRow) =>
  entry && entry.attempts > 0
    ? jobParams(seq, job, createdAt, bytes, { ...entry, history: JSON.stringify(entry.history) })
    : jobParams(seq, job, createdAt, bytes)

const decoded = (buffer: ArrayBuffer) => {
  const { inserts, ops } = decodeCommit(buffer)
  return { inserts: inserts.map((params) => params.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v))), ops }
}

describe('commit codec', () => {
  it('decodes what it encoded: rows with texts in any script, nulls, empty blobs, and every kind of op', () => {
    const inserts = [
      row(1, 'plain', null),
      row(2, 'ünïcødé 温度 🌡️', 'k/é', { contentType: 'x' }),
      row(3, '', ''),
      // Attempted before its commit: written with its state then.
      {
        ...row(4, 'tried', null),
        entry: { attempts: 2, notBefore: 1_700_000_060_000.5, history: [{ at: 1, durationMs: 3, code: 'X' }] },
      },
      // Not attempted: the entry's zero state is the new job's.
      { ...row(5, 'fresh', null), entry: { attempts: 0, notBefore: 99, history: [] } },
    ]
    const ops: WriterOp[] = [
      [0, 7],
      [1, 8, 2, 1_700_000_100_000, '[{"at":2}]'],
      [2, 9, 'id-9', 12, '[{"at":3,"error":"HTTP 500 — nope"}]', 1_700_000_200_000, 'gave up after 12 attempts'],
      [0, 2 ** 40],
    ]
    const buffer = new CommitEncoder().encode(inserts, ops)
    expect(decoded(buffer)).toEqual({ inserts: inserts.map(expected), ops })
    // Rows with an entry are in the window: the writer may journal them (sqlite-journal.ts).
    const { windowed, end } = decodeCommit(buffer)
    expect(windowed).toEqual([false, false, false, true, true])
    // The same from a view of just the commit's bytes, as the journal stores it.
    expect(decodeCommit(new Uint8Array(buffer, 0, end)).inserts).toHaveLength(5)
  })

  it('refuses a commit in a layout it does not know, rather than misread a journal a newer version wrote', () => {
    const buffer = new CommitEncoder().encode([row(1, 'plain', null)], [])
    new Uint8Array(buffer)[0] = 99
    expect(() => decodeCommit(buffer)).toThrow(/format 99, which this hookbridge does not read \(it reads 1\)/)
  })

  it('encodes an empty commit', () => {
    expect(decodeCommit(new CommitEncoder().encode([], []))).toEqual({ inserts: [], windowed: [], ops: [], end: 9 })
  })

  it('grows its buffer for a large commit, and reuses a buffer handed back without reading what it held', () => {
    const encoder = new CommitEncoder()
    // About 600 KB: the buffer grows several times from its first 64 KB.
    const big = Array.from({ length: 20 }, (_, i) => row(i, 'x'.repeat(10_000), null))
    const first = encoder.encode(big, [[0, 1]])
    expect(first.byteLength).toBeGreaterThan(500_000)
    expect(decoded(first)).toEqual({ inserts: big.map(expected), ops: [[0, 1]] })
    encoder.recycle(first)
    const small = [row(1, 'after', 'k')]
    const second = encoder.encode(small, [])
    expect(second).toBe(first)
    expect(decoded(second)).toEqual({ inserts: small.map(expected), ops: [] })
  })

  it('keeps at most two handed-back buffers, none over 4 MB, so a burst of huge commits does not stay in memory', () => {
    const encoder = new CommitEncoder()
    const huge = new ArrayBuffer(5 * 1024 * 1024)
    encoder.recycle(huge)
    expect(encoder.encode([], [])).not.toBe(huge)
    const [a, b, c] = [new ArrayBuffer(1024), new ArrayBuffer(1024), new ArrayBuffer(1024)]
    for (const buffer of [a, b, c]) encoder.recycle(buffer)
    const reused = [encoder.encode([], []), encoder.encode([], []), encoder.encode([], [])]
    expect(reused[0] === b && reused[1] === a).toBe(true)
    expect(reused[2] === c).toBe(false)
    // A kept buffer smaller than a commit grows like a new one.
    encoder.recycle(a)
    const rows = Array.from({ length: 5 }, (_, i) => row(i, 'y'.repeat(1000), null))
    expect(decoded(encoder.encode(rows, []))).toEqual({ inserts: rows.map(expected), ops: [] })
  })
})
