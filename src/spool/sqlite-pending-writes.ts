// The durable spool's writes waiting for a group commit (sqlite-spool.ts): enqueued jobs, completes, retries and
// dead letters. A job enqueued into the window can be delivered before its commit: one completed by then is never
// written, and one attempted by then is written as it is at the commit.
//
// An enqueue may also be deferred (sqlite-spool.ts, deferWriteMs): its batch waits here, unwritten, for its jobs'
// deliveries. Once all of them are delivered it resolves with nothing written; it becomes due, to be written at
// the next commit, when its time is up, or is forced earlier (a failed attempt, a dead letter, close).
import type { NewJob } from './spool.js'
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
  /** When it was enqueued (Date.now()): a deferred batch is due deferWriteMs later. */
  createdAt: number
  resolve: () => void
  reject: (err: unknown) => void
}

/** One group commit: what to write, and what it is written for. */
export interface Group {
  /** The jobs to insert, written as their entries are at the commit (one may have been attempted already). */
  inserted: Item[]
  ops: WriterOp[]
  batches: EnqueueBatch[]
  deadLetters: number
  /** Jobs (and their bytes) that will be in the file only. */
  spilling: number
  spillingBytes: number
}

export class PendingWrites {
  /** Batches to write at the next commit. */
  private due: EnqueueBatch[] = []
  /** Deferred batches, oldest first, and how many of each one's jobs are not delivered yet. */
  private readonly deferred = new Map<EnqueueBatch, number>()
  private ops: WriterOp[] = []
  /** Dead letters among the ops. */
  deadLetters = 0
  /** Jobs in the window whose commit has not been taken yet (and their batch), and those of them completed. */
  private readonly unwritten = new Map<WindowEntry, EnqueueBatch>()
  private readonly doneUnwritten = new Set<WindowEntry>()
  private deliveredBatches: EnqueueBatch[] = []

  /** Nothing is due (deferred batches may wait). */
  get empty(): boolean {
    return this.due.length === 0 && this.ops.length === 0
  }

  /** Deferred batches waiting. */
  get waiting(): number {
    return this.deferred.size
  }

  /** Deferred batches delivered, to be resolved at the next commit's time. */
  get delivered(): number {
    return this.deliveredBatches.length
  }

  /**
   * `defer`: wait for deliveries rather than be written at the next commit (only a batch wholly in the window).
   * True if deferred.
   */
  enqueued(batch: EnqueueBatch, defer: boolean): boolean {
    for (const { entry } of batch.items) {
      if (entry !== undefined) this.unwritten.set(entry, batch)
      else defer = false
    }
    if (defer && batch.items.length > 0) {
      this.deferred.set(batch, batch.items.length)
      return true
    }
    this.due.push(batch)
    return false
  }

  /** Not taken by a commit yet: its row will be written as the entry is then. */
  isUnwritten(e: WindowEntry): boolean {
    return this.unwritten.has(e)
  }

  /**
   * The job was delivered; false when its row must be deleted (it is written, or being written). A deferred batch
   * whose last job this was is done: nothing of it is written, and takeDelivered() hands it over.
   */
  completed(e: WindowEntry): boolean {
    const batch = this.unwritten.get(e)
    if (batch === undefined) return false
    const open = this.deferred.get(batch)
    if (open === undefined) {
      this.doneUnwritten.add(e)
      return true
    }
    if (open > 1) {
      this.deferred.set(batch, open - 1)
      this.doneUnwritten.add(e)
      return true
    }
    this.deferred.delete(batch)
    for (const item of batch.items) {
      this.unwritten.delete(item.entry!)
      this.doneUnwritten.delete(item.entry!)
    }
    this.deliveredBatches.push(batch)
    return true
  }

  /**
   * Deferred batches delivered since the last call. Resolved together at the next commit's time rather than one by
   * one: their acknowledgements then leave together, and the broker sends the next messages together.
   */
  takeDelivered(): readonly EnqueueBatch[] {
    const delivered = this.deliveredBatches
    if (delivered.length === 0) return delivered
    this.deliveredBatches = []
    return delivered
  }

  /** The entry's batch, if deferred, is to be written at the next commit; true if it was deferred. */
  force(e: WindowEntry): boolean {
    const batch = this.unwritten.get(e)
    if (batch === undefined || !this.deferred.delete(batch)) return false
    this.due.push(batch)
    return true
  }

  /** Every deferred batch enqueued at or before `createdAt` (all of them by default) is to be written next. */
  forceUntil(createdAt = Number.POSITIVE_INFINITY): void {
    for (const batch of this.deferred.keys()) {
      if (batch.createdAt > createdAt) break
      this.deferred.delete(batch)
      this.due.push(batch)
    }
  }

  /** When the oldest deferred batch was enqueued, if any waits. */
  oldestDeferredAt(): number | undefined {
    for (const batch of this.deferred.keys()) return batch.createdAt
    return undefined
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

  /** What is due; deferred batches stay. */
  take(): Group {
    const group: Group = {
      inserted: [],
      ops: this.ops,
      batches: this.due,
      deadLetters: this.deadLetters,
      spilling: 0,
      spillingBytes: 0,
    }
    this.ops = []
    this.due = []
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
        group.inserted.push(item)
      }
    }
    return group
  }
}
