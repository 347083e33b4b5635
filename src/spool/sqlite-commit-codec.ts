// How a group commit travels to the writer thread (sqlite-writer.ts): one buffer, transferred, not cloned.
// Structured clone of each job's 20 parameters cost ~10 µs per job on the event loop, about as much as the
// SQLite insert it replaced; writing them into one buffer costs ~1-2 µs.
//
// Layout, little-endian: u32 insert count, then per insert its 20 parameters in INSERT_JOB_SQL's order; u32 op
// count, then per op a u8 kind and its fields (WriterOp). A number is an f64; a text or blob a u32 byte length
// (NULL_LENGTH for null) and its bytes. Which parameters are blobs is fixed: payload (10) and body (18).
import type { InsertJobParams } from './sqlite-schema.js'
import type { WriterOp } from './sqlite-writer.js'

const NULL_LENGTH = 0xffffffff
/** Positions of the numbers in InsertJobParams; the others are text or blobs. */
const NUMBERS = new Set([0, 5, 6, 7, 11, 12, 13, 19])
const BLOBS = new Set([10, 18])

class Writer {
  private at = 0
  constructor(readonly buf: Buffer) {}

  num(n: number): void {
    this.at = this.buf.writeDoubleLE(n, this.at)
  }

  u32(n: number): void {
    this.at = this.buf.writeUInt32LE(n, this.at)
  }

  u8(n: number): void {
    this.at = this.buf.writeUInt8(n, this.at)
  }

  text(s: string | null): void {
    if (s === null) {
      this.u32(NULL_LENGTH)
      return
    }
    const length = this.buf.write(s, this.at + 4, 'utf8')
    this.buf.writeUInt32LE(length, this.at)
    this.at += 4 + length
  }

  blob(b: Uint8Array): void {
    this.u32(b.length)
    this.buf.set(b, this.at)
    this.at += b.length
  }
}

/** Room for a value: a text takes at most 3 bytes per UTF-16 unit. */
const room = (value: unknown): number =>
  typeof value === 'string' ? 4 + 3 * value.length : value instanceof Uint8Array ? 4 + value.length : 8

/** The commit as one ArrayBuffer of its own, to be transferred (it may be longer than what is written). */
export function encodeCommit(inserts: readonly InsertJobParams[], ops: readonly WriterOp[]): ArrayBuffer {
  let size = 8
  for (const params of inserts) for (const value of params) size += room(value)
  for (const op of ops) for (const value of op) size += room(value) + 1
  const w = new Writer(Buffer.from(new ArrayBuffer(size)))
  w.u32(inserts.length)
  for (const params of inserts) {
    for (let i = 0; i < params.length; i++) {
      const value = params[i]
      if (NUMBERS.has(i)) w.num(value as number)
      else if (BLOBS.has(i)) w.blob(value as Buffer)
      else w.text(value as string | null)
    }
  }
  w.u32(ops.length)
  for (const op of ops) {
    w.u8(op[0])
    w.num(op[1])
    if (op[0] === 1) {
      w.num(op[2])
      w.num(op[3])
      w.text(op[4])
    } else if (op[0] === 2) {
      w.text(op[2])
      w.num(op[3])
      w.text(op[4])
      w.num(op[5])
      w.text(op[6])
    }
  }
  // Room was reserved for the worst case; the decoder reads by counts, so what is left over is never read.
  return w.buf.buffer as ArrayBuffer
}

/**
 * The decoder, as JavaScript text for the writer thread (which runs eval'd CommonJS): defines
 * `decodeCommit(arrayBuffer)` returning `{ inserts, ops }` shaped as encodeCommit's arguments.
 */
export const DECODER_SOURCE = `
function decodeCommit(arrayBuffer) {
  const buf = Buffer.from(arrayBuffer)
  let at = 0
  const num = () => { const n = buf.readDoubleLE(at); at += 8; return n }
  const u32 = () => { const n = buf.readUInt32LE(at); at += 4; return n }
  const text = () => {
    const length = u32()
    if (length === ${NULL_LENGTH}) return null
    const s = buf.toString('utf8', at, at + length)
    at += length
    return s
  }
  const blob = () => {
    const length = u32()
    const b = buf.subarray(at, at + length)
    at += length
    return b
  }
  const numbers = new Set(${JSON.stringify([...NUMBERS])})
  const blobs = new Set(${JSON.stringify([...BLOBS])})
  const inserts = new Array(u32())
  for (let j = 0; j < inserts.length; j++) {
    const params = new Array(20)
    for (let i = 0; i < 20; i++) params[i] = numbers.has(i) ? num() : blobs.has(i) ? blob() : text()
    inserts[j] = params
  }
  const ops = new Array(u32())
  for (let j = 0; j < ops.length; j++) {
    const kind = buf.readUInt8(at++)
    if (kind === 0) ops[j] = [0, num()]
    else if (kind === 1) ops[j] = [1, num(), num(), num(), text()]
    else ops[j] = [2, num(), text(), num(), text(), num(), text()]
  }
  return { inserts, ops }
}
`
