// The scheduling state of pending jobs, shared by both spools: which are due, which are leased, and the
// per-(rule, orderKey) FIFOs that let only the oldest job of a key be in delivery. No I/O here.
import { Deque } from './deque.js'
import { MinHeap } from './heap.js'
import { type AttemptRecord, HISTORY_LIMIT, type Job, type NewJob } from './spool.js'

/**
 * waiting: ordered, behind an older job of its key. scheduled: leasable once due. leased: with a worker.
 * gone: completed or dead-lettered (stale references to it are skipped lazily).
 */
export type EntryState = 'waiting' | 'scheduled' | 'leased' | 'gone'

export interface PendingEntry {
  readonly id: string
  /** Enqueue order: the tie-breaker between jobs due at the same time. */
  readonly seq: number
  readonly rule: string
  readonly orderKey: string | null
  readonly createdAt: number
  notBefore: number
  attempts: number
  history: readonly AttemptRecord[]
  readonly bytes: number
  state: EntryState
  /** Bumped whenever the entry is (re)scheduled or removed, so that older tickets for it are ignored. */
  gen: number
}

/** A place in the due queues. Its order fields are copied so the heap stays valid when the entry changes. */
interface Ticket<E> {
  readonly entry: E
  readonly gen: number
  readonly notBefore: number
  readonly seq: number
}

const earlier = <E>(a: Ticket<E>, b: Ticket<E>): boolean =>
  a.notBefore < b.notBefore || (a.notBefore === b.notBefore && a.seq < b.seq)

/** The history of a job not attempted yet, shared (histories are replaced, never changed in place). */
export const NO_ATTEMPTS: readonly AttemptRecord[] = Object.freeze([])

/** A new history: `history` with `attempt` added, keeping only the last HISTORY_LIMIT records (O(1) per retry). */
export function withAttempt(history: readonly AttemptRecord[], attempt: AttemptRecord): AttemptRecord[] {
  const next = history.slice(Math.max(0, history.length - HISTORY_LIMIT + 1))
  next.push(attempt)
  return next
}

/** Stale references are dropped lazily; the structures are compacted once they outnumber live ones. */
const COMPACT_MIN = 1024

/** What stats().bytes counts for a job: payload, request body and header sizes. */
export function jobBytes(job: NewJob): number {
  let bytes = job.message.payload.length + job.request.body.length
  // for...in, not Object.entries: no array per header on the message path (headers are plain objects).
  const { headers } = job.request
  for (const name in headers) bytes += Buffer.byteLength(name) + Buffer.byteLength(headers[name]!)
  return bytes
}

/** A pending entry that holds its job's content (both spools keep it in memory while the entry is there). */
export interface ContentEntry extends PendingEntry {
  readonly job: NewJob
}

/** The job a lease hands out: a copy, so a worker adding a header (a signature, say) cannot change the stored one. */
export function leasedJob(e: ContentEntry): Job {
  const { job } = e
  return {
    id: job.id,
    rule: job.rule,
    target: job.target,
    orderKey: job.orderKey,
    message: job.message,
    request: { ...job.request, headers: { ...job.request.headers } },
    createdAt: e.createdAt,
    attempts: e.attempts,
    notBefore: e.notBefore,
    history: e.history.slice(),
  }
}

export class JobIndex<E extends PendingEntry> {
  private readonly byId = new Map<string, E>()
  /** New jobs, due at their enqueue time: a FIFO whose notBefore only grows (O(1) per job). */
  private readonly fresh = new Deque<Ticket<E>>()
  /** Retried, released and unblocked jobs, by (notBefore, seq). */
  private readonly delayed = new MinHeap<Ticket<E>>(earlier)
  /** Pending jobs of each (rule, orderKey), oldest first; the first is never gone. */
  private readonly groups = new Map<string, Deque<E>>()
  /** Pending jobs in enqueue order, for the oldest age. */
  private readonly byAge = new Deque<E>()
  private goneInAge = 0
  private staleTickets = 0
  private leasedCount = 0
  private totalBytes = 0

  get size(): number {
    return this.byId.size
  }

  get leased(): number {
    return this.leasedCount
  }

  get bytes(): number {
    return this.totalBytes
  }

  get(id: string): E | undefined {
    return this.byId.get(id)
  }

  /** Adds a pending job; false when one with the same id is already pending (the new one is ignored). */
  add(entry: E, queue: 'fresh' | 'delayed' = 'fresh'): boolean {
    if (this.byId.has(entry.id)) return false
    this.byId.set(entry.id, entry)
    this.byAge.push(entry)
    this.totalBytes += entry.bytes
    if (entry.orderKey === null) {
      this.schedule(entry, queue)
      return true
    }
    const key = groupKey(entry)
    let group = this.groups.get(key)
    if (group === undefined) {
      group = new Deque<E>(4)
      this.groups.set(key, group)
    }
    group.push(entry)
    if (group.size === 1) this.schedule(entry, queue)
    else entry.state = 'waiting'
    return true
  }

  /** Up to `limit` due jobs, earliest notBefore first; they become leased. */
  lease(limit: number, now: number): E[] {
    const out: E[] = []
    while (out.length < limit) {
      const a = this.liveFront(this.fresh)
      const b = this.liveTop()
      const aDue = a !== undefined && a.notBefore <= now
      const bDue = b !== undefined && b.notBefore <= now
      if (!aDue && !bDue) break
      const ticket = aDue && (!bDue || earlier(a, b!)) ? this.fresh.shift()! : this.delayed.pop()!
      ticket.entry.state = 'leased'
      this.leasedCount++
      out.push(ticket.entry)
    }
    return out
  }

  /** Forgets a pending job (completed or dead-lettered) and lets the next job of its key go. */
  remove(id: string): E | undefined {
    const entry = this.byId.get(id)
    if (entry === undefined) return undefined
    this.byId.delete(id)
    this.totalBytes -= entry.bytes
    this.goneInAge++
    const wasFirstOfKey = entry.state !== 'waiting'
    if (entry.state === 'leased') this.leasedCount--
    if (entry.state === 'scheduled') this.staleTickets++
    entry.state = 'gone'
    entry.gen++
    if (entry.orderKey !== null && wasFirstOfKey) {
      const key = groupKey(entry)
      const group = this.groups.get(key)!
      group.shift()
      while (group.peek()?.state === 'gone') group.shift()
      const next = group.peek()
      if (next === undefined) this.groups.delete(key)
      else this.schedule(next, 'delayed')
    }
    this.compactIfSparse()
    return entry
  }

  /** Makes a job due again at `notBefore` (retry); a waiting ordered job just remembers the time. */
  reschedule(id: string, notBefore: number): E | undefined {
    const entry = this.byId.get(id)
    if (entry === undefined) return undefined
    entry.notBefore = notBefore
    if (entry.state === 'leased') this.leasedCount--
    if (entry.state === 'scheduled') this.staleTickets++
    if (entry.state !== 'waiting') this.schedule(entry, 'delayed')
    this.compactIfSparse()
    return entry
  }

  /** Ends a lease without changing the job. */
  release(id: string): void {
    const entry = this.byId.get(id)
    if (entry?.state !== 'leased') return
    this.leasedCount--
    this.schedule(entry, 'delayed')
  }

  /** Earliest notBefore among leasable jobs (jobs waiting behind a leased one of their key don't count). */
  nextDueAt(): number | null {
    const a = this.liveFront(this.fresh)
    const b = this.liveTop()
    if (a === undefined) return b === undefined ? null : b.notBefore
    return b === undefined ? a.notBefore : Math.min(a.notBefore, b.notBefore)
  }

  oldestCreatedAt(): number | null {
    while (this.byAge.peek()?.state === 'gone') {
      this.byAge.shift()
      this.goneInAge--
    }
    return this.byAge.peek()?.createdAt ?? null
  }

  private schedule(entry: E, queue: 'fresh' | 'delayed'): void {
    entry.state = 'scheduled'
    entry.gen++
    const ticket: Ticket<E> = { entry, gen: entry.gen, notBefore: entry.notBefore, seq: entry.seq }
    if (queue === 'fresh') this.fresh.push(ticket)
    else this.delayed.push(ticket)
  }

  private liveFront(queue: Deque<Ticket<E>>): Ticket<E> | undefined {
    for (;;) {
      const ticket = queue.peek()
      if (ticket === undefined || isLive(ticket)) return ticket
      queue.shift()
      this.staleTickets--
    }
  }

  private liveTop(): Ticket<E> | undefined {
    for (;;) {
      const ticket = this.delayed.peek()
      if (ticket === undefined || isLive(ticket)) return ticket
      this.delayed.pop()
      this.staleTickets--
    }
  }

  private compactIfSparse(): void {
    if (this.goneInAge > COMPACT_MIN && this.goneInAge > this.byId.size) {
      this.byAge.retain((entry) => entry.state !== 'gone')
      this.goneInAge = 0
    }
    if (this.staleTickets > COMPACT_MIN && this.staleTickets > this.byId.size) {
      this.fresh.retain(isLive)
      this.delayed.retain(isLive)
      this.staleTickets = 0
    }
  }
}

function isLive<E extends PendingEntry>(ticket: Ticket<E>): boolean {
  return ticket.gen === ticket.entry.gen && ticket.entry.state === 'scheduled'
}

function groupKey(entry: PendingEntry): string {
  return `${entry.rule}\u0000${entry.orderKey}`
}
