// /readyz: the broker connected, every subscription confirmed, the rules loaded (a failed reload is shown, but
// the previous rules keep running, so it does not make the bridge unready).
import { formatIssue, type SourceIssue } from '../config/source-file.js'
import type { Readiness } from '../http/app.js'
import { redactUrl } from '../mqtt/connection.js'
import type { SubscriptionManager } from '../mqtt/subscriptions.js'

export interface ReadinessSources {
  url: string
  connected(): boolean
  subscriptions: Pick<SubscriptionManager, 'refused' | 'isSettled'>
  rulesRunning(): number
  lastReloadErrors(): readonly SourceIssue[]
}

export function createReadiness(sources: ReadinessSources): () => Readiness {
  return () => {
    const refused = [...sources.subscriptions.refused.keys()]
    const errors = sources.lastReloadErrors()
    const running = sources.rulesRunning()
    const checks: Readiness['checks'] = {
      broker: sources.connected() ? { ok: true } : { ok: false, detail: `not connected to ${redactUrl(sources.url)}` },
      subscriptions: sources.subscriptions.isSettled()
        ? refused.length === 0
          ? { ok: true }
          : { ok: false, detail: `the broker refused: ${refused.join(', ')}` }
        : { ok: false, detail: 'waiting for the broker to confirm subscriptions' },
      rules:
        errors.length === 0
          ? { ok: true, detail: `${running} rule(s) loaded` }
          : {
              ok: true,
              detail: `${running} rule(s) running; the last reload failed: ${errors.map(formatIssue).join('; ')}`,
            },
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks }
  }
}
