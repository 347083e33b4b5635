// The durable spool's writes waiting for the next group commit (sqlite-spool.ts): enqueued jobs, completes, retries
// and dead letters. A job enqueued into the window can be delivered before its commit: one completed by then is
// never written, and one attempted by then is written as it is at the commit.
import type { NewJob } from './spool.js'
import { type InsertJobParams, jobParams } from './sqlite-schema.js'
import type { WindowEntry } from './sqlite-window.js'
import type { WriterOp } from './sqlite-writer.js'

export interface Item {
  seq: number
  job: NewJob
  createdAt: number
  bytes: number
  /** Its place in the window, when it went there at once; otherwise it will be in the file only. */
  entry: WindowEntry | undefined
}

export interface EnqueueBatch {
  items: Item[]
  resolve: () => void
  reject: (err: unknown) => void
}

/** One group commit: what to write, and what it is written for. */
export interface Group {
  inserts: InsertJobParams[]
  /** The item of each insert, in the same order. */
  inserted: Item[]
  ops: WriterOp[]
  batches: EnqueueBatch[]
  deadLetters: number
  /** Jobs (and their bytes) that will be in the file only. */
  spilling: number
  spillingBytes: number
}

export class PendingWrites {
  private batches: EnqueueBatch[] = []
  private ops: WriterOp[] = []
  /** Dead letters among the ops. */
  deadLetters = 0
  /** Jobs in the window whose commit has not been taken yet, and those of them already completed. */
  private readonly unwritten = new Set<WindowEntry>()
  private readonly doneUnwritten = new Set<WindowEntry>()

  get empty(): boolean {
    return this.batches.length === 0 && this.ops.length === 0
  }

  enqueued(batch: EnqueueBatch): void {
    this.batches.push(batch)
    for (const { entry } of batch.items) if (entry !== undefined) this.unwritten.add(entry)
  }

  /** Not taken by a commit yet: its row will be written as the entry is then. */
  isUnwritten(e: WindowEntry): boolean {
    return this.unwritten.has(e)
  }

  /** The job was delivered; false when its row must be deleted (it is written, or being written). */
  completed(e: WindowEntry): boolean {
    if (!this.unwritten.has(e)) return false
    this.doneUnwritten.add(e)
    return true
  }

  op(op: WriterOp): void {
    this.ops.push(op)
    if (op[0] === 2) this.deadLetters++
  }

  /** Ops of a failed commit, to be tried again first. */
  putBack(ops: WriterOp[], deadLetters: number): void {
    this.ops = ops.concat(this.ops)
    this.deadLetters += deadLetters
  }

  take(): Group {
    const group: Group = {
      inserts: [],
      inserted: [],
      ops: this.ops,
      batches: this.batches,
      deadLetters: this.deadLetters,
      spilling: 0,
      spillingBytes: 0,
    }
    this.ops = []
    this.batches = []
    this.deadLetters = 0
    for (const batch of group.batches) {
      for (const item of batch.items) {
        const e = item.entry
        if (e === undefined) {
          group.spilling++
          group.spillingBytes += item.bytes
        } else {
          this.unwritten.delete(e)
          // Delivered before its commit: nothing to write (its message is acknowledged all the same).
          if (this.doneUnwritten.delete(e)) continue
        }
        group.inserts.push(paramsOf(item))
        group.inserted.push(item)
      }
    }
    return group
  }
}

/** The row of a job: a job in the window is written as it is now (it may have been attempted already). */
function paramsOf({ seq, job, createdAt, bytes, entry }: Item): InsertJobParams {
  if (entry === undefined || entry.attempts === 0) return jobParams(seq, job, createdAt, bytes)
  const state = { attempts: entry.attempts, notBefore: entry.notBefore, history: JSON.stringify(entry.history) }
  return jobParams(seq, job, createdAt, bytes, state)
}
