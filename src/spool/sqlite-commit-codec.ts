// How a group commit travels to the writer thread (sqlite-writer.ts): one buffer, transferred, not cloned.
// Structured clone of each job's 20 parameters cost ~10 µs per job on the event loop, about as much as the
// SQLite insert it replaced; writing them into one buffer costs ~1-2 µs. Jobs are written into it straight from
// the spool's items (no parameter array per job), and the thread hands each buffer back with its answer, so a
// burst reuses a few buffers rather than allocating (and zero-filling) one per commit.
//
// Layout, little-endian: u8 COMMIT_FORMAT; u32 insert count, then per insert a u8 (1: the job is in the spool's
// window, so the writer may journal it rather than insert it, sqlite-journal.ts), 8 numbers (seq, createdAt,
// attempts, notBefore, qos, retain, receivedAt, bytes), its texts as one JSON array (id, rule, target, orderKey,
// history or null, topic, properties or null, method, url, headers), payload and body; u32 op count, then per op
// a u8 kind and its fields (WriterOp). A number is an f64; a text or blob a u32 byte length (NULL_LENGTH for
// null) and its bytes. The decoder gives each insert back as INSERT_JOB_SQL's 20 parameters.
import type { AttemptRecord, NewJob } from './spool.js'
import type { WriterOp } from './sqlite-writer.js'

const NULL_LENGTH = 0xffffffff
/**
 * The layout's version, its first byte. Journal rows (sqlite-journal.ts) keep commits across a crash, so a newer
 * hookbridge may have to read an older layout: change the layout only with a new version, and keep decoding the old.
 */
export const COMMIT_FORMAT = 1

/**
 * A job to insert, as the spool holds it. `entry`: set when the job is in the window (its state now, which may
 * include an attempt made before its commit); unset when it will be in the file only.
 */
export interface InsertRow {
  seq: number
  job: NewJob
  createdAt: number
  bytes: number
  entry?: { attempts: number; notBefore: number; history: readonly AttemptRecord[] } | undefined
}

/** A new buffer's size; it grows (doubling) to fit a commit. */
const INITIAL_BYTES = 64 * 1024
/** Buffers handed back up to this size are kept for reuse; a larger one (a huge commit) is let go. */
const MAX_KEPT_BYTES = 4 * 1024 * 1024
/** How many handed-back buffers are kept: commits go one at a time, so one or two are in use at once. */
const MAX_KEPT = 2

export class CommitEncoder {
  private buf = Buffer.alloc(0)
  private at = 0
  private readonly spare: ArrayBuffer[] = []

  /**
   * The commit as one ArrayBuffer of its own, to be transferred (it may be longer than what is written).
   * `journal`: the window's jobs may be journaled (sqlite-journal.ts); otherwise every job is a row at once.
   */
  encode(inserts: readonly InsertRow[], ops: readonly WriterOp[], journal = true): ArrayBuffer {
    const reused = this.spare.pop()
    this.buf = Buffer.from(reused ?? new ArrayBuffer(INITIAL_BYTES))
    this.at = 0
    this.u8(COMMIT_FORMAT)
    this.u32(inserts.length)
    for (const row of inserts) this.insert(row, journal)
    this.u32(ops.length)
    for (const op of ops) {
      this.u8(op[0])
      this.num(op[1])
      if (op[0] === 1) {
        this.num(op[2])
        this.num(op[3])
        this.text(op[4])
      } else if (op[0] === 2) {
        this.text(op[2])
        this.num(op[3])
        this.text(op[4])
        this.num(op[5])
        this.text(op[6])
      }
    }
    // The decoder reads by counts, so what is left over after the last op is never read.
    const out = this.buf.buffer as ArrayBuffer
    this.buf = Buffer.alloc(0)
    return out
  }

  /** A buffer the writer thread is done with. */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength <= MAX_KEPT_BYTES && this.spare.length < MAX_KEPT) this.spare.push(buffer)
  }

  /**
   * One job: its seq first (all a journaled job's decoding needs), its other numbers, then its texts as one JSON
   * array (one serialisation and one UTF-8 write instead of ten, ~20 % less encoding), then payload and body.
   */
  private insert({ seq, job, createdAt, bytes, entry }: InsertRow, journal: boolean): void {
    const { message, request } = job
    const attempted = entry !== undefined && entry.attempts > 0
    this.u8(journal && entry !== undefined ? 1 : 0)
    this.num(seq)
    this.num(createdAt)
    this.num(attempted ? entry.attempts : 0)
    this.num(attempted ? entry.notBefore : createdAt)
    this.num(message.qos)
    this.num(message.retain ? 1 : 0)
    this.num(message.receivedAt)
    this.num(bytes)
    this.text(
      JSON.stringify([
        job.id,
        job.rule,
        job.target,
        job.orderKey,
        attempted ? entry.history : null,
        message.topic,
        message.properties ?? null,
        request.method,
        request.url,
        request.headers,
      ]),
    )
    this.blob(message.payload)
    this.blob(request.body)
  }

  /** Makes room for `n` more bytes: a buffer twice as large (or more), with what is written so far. */
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return
    const grown = Buffer.from(new ArrayBuffer(Math.max(this.buf.length * 2, this.at + n, INITIAL_BYTES)))
    this.buf.copy(grown, 0, 0, this.at)
    this.buf = grown
  }

  private num(n: number): void {
    this.room(8)
    this.at = this.buf.writeDoubleLE(n, this.at)
  }

  private u32(n: number): void {
    this.room(4)
    this.at = this.buf.writeUInt32LE(n, this.at)
  }

  private u8(n: number): void {
    this.room(1)
    this.at = this.buf.writeUInt8(n, this.at)
  }

  private text(s: string | null): void {
    if (s === null) {
      this.u32(NULL_LENGTH)
      return
    }
    // At most 3 bytes per UTF-16 unit.
    this.room(4 + 3 * s.length)
    const length = this.buf.write(s, this.at + 4, 'utf8')
    this.buf.writeUInt32LE(length, this.at)
    this.at += 4 + length
  }

  private blob(b: Uint8Array): void {
    this.u32(b.length)
    this.room(b.length)
    this.buf.set(b, this.at)
    this.at += b.length
  }
}

/**
 * The decoder, as JavaScript text for the writer thread (which runs eval'd CommonJS): defines
 * `decodeCommit(data, seqsOnly)` (data: an ArrayBuffer or a view of one) returning `{ inserts, windowed, ops, end }`:
 * each insert as INSERT_JOB_SQL's parameters (sqlite-schema.ts jobParams; with `seqsOnly`, a window job's as
 * `[seq]` alone), whether each is in the window, each op as the WriterOp encoded, and where the commit's bytes end.
 */
export const DECODER_SOURCE = `
function decodeCommit(data, seqsOnly) {
  const buf = data instanceof ArrayBuffer ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  let at = 0
  const format = buf.readUInt8(at++)
  if (format !== ${COMMIT_FORMAT}) {
    throw new Error('a spool commit in format ' + format + ', which this hookbridge does not read (it reads ${COMMIT_FORMAT}): ' +
      'finish the journal of the spool file with the hookbridge version that wrote it, then upgrade')
  }
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
  const inserts = new Array(u32())
  const windowed = new Array(inserts.length)
  for (let j = 0; j < inserts.length; j++) {
    windowed[j] = buf.readUInt8(at++) === 1
    const seq = num()
    if (windowed[j] && seqsOnly) {
      // Only its seq: step over the rest without making strings (7 numbers, the texts, payload and body).
      at += 56
      for (let i = 0; i < 3; i++) at += 4 + buf.readUInt32LE(at)
      inserts[j] = [seq]
      continue
    }
    const createdAt = num(), attempts = num(), notBefore = num(), qos = num(), retain = num()
    const receivedAt = num(), bytes = num()
    // The texts' JSON gives the same text again for headers, history and properties.
    const t = JSON.parse(text())
    const payload = blob()
    inserts[j] = [seq, t[0], t[1], t[2], t[3], createdAt, attempts, notBefore,
      t[4] === null ? '[]' : JSON.stringify(t[4]), t[5], payload, qos, retain, receivedAt,
      t[6] === null ? null : JSON.stringify(t[6]), t[7], t[8], JSON.stringify(t[9]), blob(), bytes]
  }
  const ops = new Array(u32())
  for (let j = 0; j < ops.length; j++) {
    const kind = buf.readUInt8(at++)
    if (kind === 0) ops[j] = [0, num()]
    else if (kind === 1) ops[j] = [1, num(), num(), num(), text()]
    else ops[j] = [2, num(), text(), num(), text(), num(), text()]
  }
  return { inserts, windowed, ops, end: at }
}
`
