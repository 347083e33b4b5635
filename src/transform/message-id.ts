// Message and delivery ids. A message id is a UUIDv7 (RFC 9562): a 48-bit millisecond timestamp first, so ids made
// later sort later and the spool's index on ids appends instead of inserting at random places; a 42-bit counter
// (seeded at random each millisecond, method 1 of section 6.2) keeps ids of one process in order within a millisecond.
import { randomFillSync } from 'node:crypto'

const COUNTER_BITS = 42
const COUNTER_MAX = 2 ** COUNTER_BITS - 1

const pool = Buffer.allocUnsafe(4096)
let poolAt = pool.length

function randomBytes(n: number): number {
  if (poolAt + n > pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  const at = poolAt
  poolAt += n
  return at
}

/** Random seed for a millisecond's counter: 41 bits, so at least 2^41 ids fit before it overflows. */
function seedCounter(): number {
  const at = randomBytes(6)
  return (pool[at]! & 0x01) * 2 ** 40 + pool.readUIntBE(at + 1, 5)
}

export type MessageIdGenerator = () => string

/** A generator of UUIDv7 ids, in strictly increasing order (also as text) whatever the clock does. */
export function createMessageIdGenerator(now: () => number = Date.now): MessageIdGenerator {
  let lastMs = -1
  let counter = 0
  // The text is written here and read back as one flat string.
  const text = Buffer.from('00000000-0000-7000-8000-000000000000', 'latin1')
  return () => {
    const ms = now()
    if (ms > lastMs) {
      lastMs = ms
      counter = seedCounter()
    } else if (counter < COUNTER_MAX) {
      counter++
    } else {
      // The counter is spent (or the clock went back): borrow the next millisecond, as section 6.2 allows.
      lastMs++
      counter = seedCounter()
    }
    const tail = randomBytes(4)
    const high = Math.floor(counter / 2 ** 30) // counter bits 41..30: rand_a
    const low = counter % 2 ** 30 // counter bits 29..0: the top of rand_b
    const msHigh = Math.floor(lastMs / 2 ** 16)
    hex(text, 0, msHigh >>> 24)
    hex(text, 2, (msHigh >>> 16) & 0xff)
    hex(text, 4, (msHigh >>> 8) & 0xff)
    hex(text, 6, msHigh & 0xff)
    hex(text, 9, (lastMs >>> 8) & 0xff)
    hex(text, 11, lastMs & 0xff)
    hex(text, 14, 0x70 | (high >>> 8))
    hex(text, 16, high & 0xff)
    hex(text, 19, 0x80 | (low >>> 24))
    hex(text, 21, (low >>> 16) & 0xff)
    hex(text, 24, (low >>> 8) & 0xff)
    hex(text, 26, low & 0xff)
    for (let i = 0; i < 4; i++) hex(text, 28 + 2 * i, pool[tail + i]!)
    return text.toString('latin1', 0, 36)
  }
}

const DIGITS = Buffer.from('0123456789abcdef', 'latin1')

function hex(out: Buffer, at: number, byte: number): void {
  out[at] = DIGITS[byte >>> 4]!
  out[at + 1] = DIGITS[byte & 0x0f]!
}

/** The process's message ids. */
export const newMessageId: MessageIdGenerator = createMessageIdGenerator()

/**
 * `<messageId>:<rule>:<target>` as one flat string: a template literal would leave a rope (a tree of the three
 * parts) that costs memory for as long as the job is pending and is flattened again on every lookup.
 */
export function deliveryIdOf(messageId: string, rule: string, target: string): string {
  return flatten(`${messageId}:${rule}:${target}`)
}

// Encoding and decoding again yields a new sequential string; V8 has no cheaper way to drop the rope.
function flatten(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8')
}
