// The commit buffer the writer thread reads: what the decoder (run as text in that thread) gets back must be
// exactly what was encoded, texts in any script, nulls, empty values and blobs included.
import { describe, expect, it } from 'vitest'
import { DECODER_SOURCE, encodeCommit } from './sqlite-commit-codec.js'
import type { InsertJobParams } from './sqlite-schema.js'
import type { WriterOp } from './sqlite-writer.js'

const decodeCommit = new Function(`${DECODER_SOURCE}; return decodeCommit`)() as (buffer: ArrayBuffer) => {
  inserts: unknown[][]
  ops: unknown[][]
}

const row = (seq: number, text: string, orderKey: string | null, properties: string | null): InsertJobParams => [
  seq,
  `id-${seq}-${text}`,
  'rule',
  'target',
  orderKey,
  1_700_000_000_123,
  3,
  1_700_000_060_000.5,
  '[{"at":1,"code":"X"}]',
  `sensors/${text}/t`,
  Buffer.from(`{"t":"${text}"}`),
  2,
  1,
  1_700_000_000_000,
  properties,
  'POST',
  `https://example.com/${encodeURIComponent(text)}`,
  JSON.stringify({ 'x-text': text }),
  Buffer.alloc(0),
  123_456,
]

describe('commit codec', () => {
  it('decodes what it encoded: rows with texts in any script, nulls, empty blobs, and every kind of op', () => {
    const inserts = [
      row(1, 'plain', null, null),
      row(2, 'ünïcødé 温度 🌡️', 'k/é', '{"contentType":"x"}'),
      row(3, '', '', ''),
    ]
    const ops: WriterOp[] = [
      [0, 7],
      [1, 8, 2, 1_700_000_100_000, '[{"at":2}]'],
      [2, 9, 'id-9', 12, '[{"at":3,"error":"HTTP 500 — nope"}]', 1_700_000_200_000, 'gave up after 12 attempts'],
      [0, 2 ** 40],
    ]
    const decoded = decodeCommit(encodeCommit(inserts, ops))
    expect(decoded.inserts.map((params) => params.map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v)))).toEqual(
      inserts,
    )
    expect(decoded.ops).toEqual(ops)
  })

  it('encodes an empty commit', () => {
    expect(decodeCommit(encodeCommit([], []))).toEqual({ inserts: [], ops: [] })
  })
})
