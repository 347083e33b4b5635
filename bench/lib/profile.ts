// How much load each part of the bench uses: the full run (about 15-20 minutes on 2 cores) and --quick (a smoke
// run of about 2 minutes whose figures are indicative only).

export interface Profile {
  name: 'full' | 'quick'
  /** Repetitions of every pipeline and HTTP measurement; figures are medians over them. */
  reps: number
  /** Messages sent through a freshly started system before measuring (JIT, connections). */
  warmup: number
  /** Saturation burst size. */
  burst: number
  /** Fixed-rate phases: messages per second, each for rateDurationMs. */
  rates: number[]
  rateDurationMs: number
  /** Stop waiting for a phase when nothing arrived for this long... */
  idleMs: number
  /** ...or after this long in all (for a fixed rate: after the publisher has finished). */
  burstCapMs: number
  rateCapMs: number
  /** Messages backlogged while the receiver is down. */
  backlog: number
  backlogCapMs: number
  /** autocannon: seconds and connections per measurement. */
  httpDurationS: number
  httpConnections: number
  /** Time per implementation in the micro-benchmarks. */
  microMs: number
}

// Caps bound every phase, so a system that cannot keep up (or loses messages) costs at most its caps: the full
// run stays under about 30 minutes even then, and takes about 15 when every system keeps up.
export const fullProfile: Profile = {
  name: 'full',
  reps: 3,
  warmup: 2_000,
  burst: 50_000,
  rates: [1_000, 5_000],
  rateDurationMs: 10_000,
  idleMs: 8_000,
  burstCapMs: 60_000,
  rateCapMs: 10_000,
  backlog: 1_000_000,
  // A million messages at the ~5k msg/s a durable spool takes on 2 shared cores: about 200 s; the cap leaves room.
  backlogCapMs: 420_000,
  httpDurationS: 10,
  httpConnections: 32,
  microMs: 2_000,
}

export const quickProfile: Profile = {
  name: 'quick',
  reps: 1,
  warmup: 500,
  burst: 5_000,
  rates: [1_000, 5_000],
  rateDurationMs: 2_000,
  idleMs: 4_000,
  burstCapMs: 15_000,
  rateCapMs: 5_000,
  backlog: 20_000,
  backlogCapMs: 20_000,
  httpDurationS: 2,
  httpConnections: 32,
  microMs: 200,
}
