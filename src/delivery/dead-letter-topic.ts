// Per rule, a dead letter can also be published to MQTT (`deadLetter.topic`), as JSON that holds the original
// payload (base64), topic, rule, reason and every attempt. Best effort: the spool keeps the dead letter anyway.
import type { MqttClient } from 'mqtt'
import type { Logger } from '../observability/logger.js'
import type { RuleSet } from '../rules/rule-set.js'
import type { AttemptRecord, NewJob } from '../spool/spool.js'

export interface DeadLetterNotice {
  job: NewJob
  reason: string
  history: readonly AttemptRecord[]
}

export function createDeadLetterPublisher(client: MqttClient, rules: () => RuleSet, logger: Logger) {
  return async function publishDeadLetter({ job, reason, history }: DeadLetterNotice): Promise<void> {
    const target = rules().get(job.rule)?.deadLetter
    if (!target) return
    const input = { rule: job.rule, topic: job.message.topic, deliveryId: job.id, reason }
    try {
      const topic = await target.topic.render(input)
      const body = {
        deliveryId: job.id,
        rule: job.rule,
        target: job.target,
        topic: job.message.topic,
        payloadBase64: job.message.payload.toString('base64'),
        properties: job.message.properties,
        receivedAt: job.message.receivedAt,
        reason,
        attempts: history,
      }
      await client.publishAsync(topic, JSON.stringify(body), {
        qos: target.qos,
        properties: { contentType: 'application/json' },
      })
    } catch (err) {
      logger.warn(
        { rule: job.rule, deliveryId: job.id, err: (err as Error).message },
        'could not publish the dead letter to MQTT (it is kept in the spool)',
      )
    }
  }
}
