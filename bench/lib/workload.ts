// The one workload every system gets: the same topics, payloads and JSONata transform. The publisher stamps each
// message with its send time (CLOCK_MONOTONIC, shared by every process on the machine) so the receiver can
// measure publish-to-receipt latency; `run` tells the phases apart and `seq` counts losses and duplicates.

/** The filter every system subscribes to; devices fill the middle level. */
export const SUBSCRIPTION = 'bench/+/data'
/** hookbridge's spelling of the same filter (named wildcard). */
export const RULE_FILTER = 'bench/+device/data'
export const DEVICES = 64

/**
 * The transform, identical in hookbridge, the raw pipe and Node-RED: all three evaluate it over an object with
 * `topic` and the parsed `payload` (hookbridge's envelope, Node-RED's msg, the raw pipe's own object).
 */
export const EXPRESSION = `{
  "device": $split(topic, "/")[1],
  "run": payload.run,
  "seq": payload.seq,
  "t": payload.t,
  "fahrenheit": payload.celsius * 9 / 5 + 32,
  "humidity": payload.humidity,
  "alert": payload.celsius > 30
}`

/** The same transform written in JavaScript (for the JSONata micro-benchmark). */
export function transformInJs(input: { topic: string; payload: BenchPayload }): Record<string, unknown> {
  const p = input.payload
  return {
    device: input.topic.split('/')[1],
    run: p.run,
    seq: p.seq,
    t: p.t,
    fahrenheit: (p.celsius * 9) / 5 + 32,
    humidity: p.humidity,
    alert: p.celsius > 30,
  }
}

export interface BenchPayload {
  run: number
  seq: number
  /** Send time in microseconds of CLOCK_MONOTONIC. */
  t: number
  celsius: number
  humidity: number
  site: string
}

export function topicOf(seq: number): string {
  return `bench/dev-${seq % DEVICES}/data`
}

export function payloadOf(run: number, seq: number, nowUs: number): string {
  const celsius = 15 + (seq % 200) / 10
  return `{"run":${run},"seq":${seq},"t":${nowUs},"celsius":${celsius},"humidity":${40 + (seq % 30)},"site":"plant-7"}`
}

/** Microseconds of CLOCK_MONOTONIC: comparable across processes on one machine, unlike performance.now(). */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n)
}
