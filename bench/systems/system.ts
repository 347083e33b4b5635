// What the orchestrator needs from each system under test: start it against the bench broker and receiver as a
// process of its own (so its CPU time and RSS are its own), and stop it.

export interface StartContext {
  brokerUrl: string
  /** Where the receiver listens, e.g. http://127.0.0.1:PORT/ingest */
  targetUrl: string
  /** A fresh directory for this instance's files (config, data, logs). */
  dir: string
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[]
}

export interface RunningSystem {
  pid: number
  /** Port of an HTTP API, where the system has one. */
  httpPort?: number
  /** The system's own counters, where it can tell (for diagnosing an incomplete phase). */
  diagnostics?(): Promise<unknown>
  stop(): Promise<void>
}

export interface SystemDefinition {
  /** Key in results, e.g. "hookbridge-durable". */
  id: string
  label: string
  start(context: StartContext): Promise<RunningSystem>
  /** Why it cannot run here (e.g. Node-RED failed to install), checked once before the runs. */
  unavailable?(): Promise<string | undefined>
}
