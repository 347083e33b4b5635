// What the publisher actor answers to `burst` and `rate`.

export interface PublishReport {
  sent: number
  acked: number
  failed: number
  /** From the first publish to the last acknowledgement. */
  ms: number
  /** Largest delay behind the schedule (fixed-rate runs). */
  maxLagMs: number
}
