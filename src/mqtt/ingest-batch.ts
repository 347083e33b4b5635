// Ingest's first step for one message: the rules it matches, each applied (transform/prepare.ts), counted and
// observed, gathered into what is to be stored. At once when every rule is prepared at once
// (transform/prepare-now.ts), else a promise: a message costs no promise on the usual path.
import { HookbridgeError } from '../errors.js'
import type { Logger } from '../observability/logger.js'
import type { CompiledRule } from '../rules/compile.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { NewJob, SourceMessage } from '../spool/spool.js'
import { decodePayload } from '../transform/envelope.js'
import { newMessageId } from '../transform/message-id.js'
import { failedJobs, type Prepared, prepareDeliveries } from '../transform/prepare.js'
import type { IngestCounters, IngestObserver } from './ingest.js'

/** The jobs of one message, and those of rules that failed on it (to be dead-lettered once stored). */
export interface Batch {
  jobs: NewJob[]
  failures: Array<{ jobs: NewJob[]; code: string; error: string }>
}

export interface MessagePreparerOptions {
  rules(): RuleSet
  counters: IngestCounters
  observer: IngestObserver | undefined
  logger: Logger
  /** Payloads larger than this are not parsed: each matching rule dead-letters them. */
  maxPayloadBytes: number | undefined
  onMessage: ((message: SourceMessage, viaSubscriptions?: ReadonlySet<string>) => void) | undefined
}

export type MessagePreparer = (
  message: SourceMessage,
  viaSubscriptions?: ReadonlySet<string>,
) => Batch | undefined | Promise<Batch | undefined>

export function createMessagePreparer(options: MessagePreparerOptions): MessagePreparer {
  const { counters, observer, logger, maxPayloadBytes } = options

  function add(batch: Batch, rule: CompiledRule, prepared: Prepared, started: number, topic: string, id: string) {
    if (observer) observer.ruleSeconds(rule.name, (performance.now() - started) / 1000)
    if (prepared.kind === 'jobs') batch.jobs.push(...prepared.jobs)
    else if (prepared.kind === 'skipped') {
      counters.skipped++
      observer?.filtered(rule.name, prepared.reason)
    } else {
      counters.failed++
      batch.failures.push({ jobs: prepared.jobs, code: prepared.error.code, error: prepared.error.message })
      logger.warn({ rule: rule.name, topic, code: prepared.error.code, messageId: id }, prepared.error.message)
    }
  }

  return (message, via) => {
    counters.received++
    observer?.received()
    options.onMessage?.(message, via)
    const matches = options.rules().match(message.topic, via)
    if (matches.length === 0) {
      counters.unmatched++
      return undefined
    }
    counters.matched += matches.length
    const messageId = newMessageId()
    const tooLarge = maxPayloadBytes !== undefined && message.payload.length > maxPayloadBytes
    const decoded = tooLarge ? { value: undefined, isJson: false } : decodePayload(message.payload)
    const batch: Batch = { jobs: [], failures: [] }
    const collect = (from: number): Batch | undefined | Promise<Batch | undefined> => {
      for (let i = from; i < matches.length; i++) {
        const { rule, params } = matches[i]!
        observer?.matched(rule.name)
        const started = observer ? performance.now() : 0
        const prepared = tooLarge
          ? payloadTooLarge(rule, message, messageId, maxPayloadBytes!)
          : prepareDeliveries(rule, params, message, decoded, messageId)
        if (prepared instanceof Promise) {
          // The rest of this message's rules wait for it, in order.
          return prepared.then((p) => {
            add(batch, rule, p, started, message.topic, messageId)
            return collect(i + 1)
          })
        }
        add(batch, rule, prepared, started, message.topic, messageId)
      }
      return batch.jobs.length + batch.failures.length === 0 ? undefined : batch
    }
    return collect(0)
  }
}

function payloadTooLarge(rule: CompiledRule, message: SourceMessage, messageId: string, maxBytes: number): Prepared {
  const error = new HookbridgeError('HOOKBRIDGE_PAYLOAD_TOO_LARGE', {
    rule: rule.name,
    bytes: message.payload.length,
    maxBytes,
  })
  return { kind: 'failed', jobs: failedJobs(rule, message, messageId), error }
}
