// When the durable spool's next group commit runs: after the first write of a group has waited its delay (0: at
// setImmediate, i.e. within this turn of the event loop), or at once when enough writes are waiting. A write
// may bring a scheduled commit forward, never put it off.
export class CommitScheduler {
  private waiting = 0
  private cancelTimer: (() => void) | undefined
  /** When the scheduled commit runs (performance.now()). */
  private commitAt = Number.POSITIVE_INFINITY

  constructor(
    private readonly run: () => void,
    private readonly maxBatch: number,
  ) {}

  /** `count` writes are waiting; they may wait `delayMs` for others to share their commit. */
  add(count: number, delayMs: number): void {
    this.waiting += count
    if (this.waiting >= this.maxBatch) {
      this.run()
      return
    }
    const at = performance.now() + delayMs
    if (this.cancelTimer !== undefined && this.commitAt <= at) return
    this.cancelTimer?.()
    this.commitAt = at
    if (delayMs > 0) {
      const timer = setTimeout(this.run, delayMs)
      this.cancelTimer = () => clearTimeout(timer)
    } else {
      const immediate = setImmediate(this.run)
      this.cancelTimer = () => clearImmediate(immediate)
    }
  }

  /** The commit is running now: nothing is waiting any more, and nothing is scheduled. */
  taken(): void {
    this.cancelTimer?.()
    this.cancelTimer = undefined
    this.commitAt = Number.POSITIVE_INFINITY
    this.waiting = 0
  }
}
