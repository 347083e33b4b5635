// V8's old-space pacing follows what deliveries are doing. While they succeed (pending jobs, none waiting for a
// retry), V8 paces itself (it lets old space
// grow up to 4x what survived a full collection: fewer collections, less CPU). While jobs wait for a retry (a
// receiver is down or failing), backlogs pile up and every message is promoted garbage on its way to the file: old
// space may then grow only `percent` over what survived (`--heap-growing-percent`, which V8 reads at each full
// collection), so the backlog costs disk, not memory. Not a ceiling: the heap still grows with what is live.
import { setFlagsFromString } from 'node:v8'
import type { Spool } from '../spool/spool.js'

export interface HeapPacing {
  stop(): void
}

export interface HeapPacingOptions {
  percent: number
  /** How often the spool is looked at. */
  intervalMs?: number
  /** Applies a V8 flag (tests pass their own). */
  setFlags?: (flags: string) => void
  now?: () => number
}

export function paceHeapByDeliveries(spool: Pick<Spool, 'stats'>, options: HeapPacingOptions): HeapPacing {
  const setFlags = options.setFlags ?? setFlagsFromString
  const now = options.now ?? Date.now
  // Tight from the start: a backlog may be waiting at the broker for a receiver that is down.
  let tight = true
  setFlags(`--heap-growing-percent=${options.percent}`)
  const check = () => {
    const stats = spool.stats(now())
    // With nothing pending there is nothing to judge by: keep the pacing as it is.
    if (stats.depth === 0) return
    const retrying = stats.retrying > 0
    if (retrying === tight) return
    tight = retrying
    // 0: V8's own pacing.
    setFlags(`--heap-growing-percent=${retrying ? options.percent : 0}`)
  }
  const timer = setInterval(check, options.intervalMs ?? 1000)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}
