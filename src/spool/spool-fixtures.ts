// Jobs and attempts for the spool tests (spool.case.ts and the implementation tests).
import type { AttemptRecord, NewJob } from './spool.js'

let counter = 0

export function newJob(fields: Partial<NewJob> & { payload?: Buffer } = {}): NewJob {
  const n = ++counter
  const { payload, ...rest } = fields
  return {
    id: `job-${n}`,
    rule: 'rule-a',
    target: 'main',
    orderKey: null,
    message: {
      topic: `sensors/${n}/temp`,
      payload: payload ?? Buffer.from(`{"n":${n}}`),
      qos: 1,
      retain: false,
      receivedAt: 1_700_000_000_000 + n,
    },
    request: {
      method: 'POST',
      url: 'http://127.0.0.1:9/hook',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(`n=${n}`),
    },
    ...rest,
  }
}

export const failed = (status = 503): AttemptRecord => ({
  at: Date.now(),
  durationMs: 12,
  status,
  code: 'HOOKBRIDGE_DELIVERY_STATUS',
})

export const ids = (jobs: readonly { id: string }[]): string[] => jobs.map((job) => job.id)
