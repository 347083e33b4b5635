// Hot reload: on a change in the rules directory (watched), SIGHUP, or POST /v1/rules/reload, the whole set is
// loaded again and applied atomically. An invalid set changes nothing: the previous good one keeps running,
// and the problems are logged (file, field, line) and kept for /readyz and the metrics.
import { type FSWatcher, watch } from 'node:fs'
import { formatIssue, type SourceIssue } from '../config/source-file.js'
import type { Logger } from '../observability/logger.js'
import type { ExpressionLimits } from '../transform/jsonata.js'
import { isRuleFile, listRuleDirs, loadRules } from './load.js'
import { createRuleSet, type RuleSet } from './rule-set.js'

export interface ReloadResult {
  ok: boolean
  rules: number
  issues: SourceIssue[]
  /** Names added, removed and changed (by definition) compared with the set that ran before. */
  added: string[]
  removed: string[]
  changed: string[]
}

export interface ReloadState {
  /** Successful applications since start (the first load included). */
  version: number
  lastReloadAt: number
  /** The problems of the last failed reload, until a reload succeeds. */
  lastErrors: SourceIssue[]
  failedReloads: number
}

export interface RuleReloaderOptions {
  dir: string
  env: NodeJS.ProcessEnv
  logger: Logger
  limits?: ExpressionLimits
  current(): RuleSet
  /** Make a new set live (swap, then adjust subscriptions). */
  apply(next: RuleSet): Promise<void>
  /** Quiet time after the last file event before reloading. */
  debounceMs?: number
}

export interface RuleReloader {
  reload(reason: string): Promise<ReloadResult>
  watch(): void
  close(): void
  readonly state: ReloadState
}

export function createRuleReloader(options: RuleReloaderOptions): RuleReloader {
  const { logger } = options
  const state: ReloadState = { version: 1, lastReloadAt: Date.now(), lastErrors: [], failedReloads: 0 }
  // One plain (non-recursive) watcher per directory of rule files: Node 20's recursive watching on Linux walks
  // the tree on every event, which a spool or anything busy inside the rules directory would make costly.
  const watchers = new Map<string, FSWatcher>()
  let watching = false

  const scheduleReload = () => {
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => {
      timer = undefined
      reload('files changed').catch((err: unknown) => logger.error({ err }, 'rule reload failed'))
    }, options.debounceMs ?? 200)
  }

  function refreshWatchers(): void {
    if (!watching) return
    let dirs: Set<string>
    try {
      dirs = new Set(listRuleDirs(options.dir))
    } catch (err) {
      logger.warn(
        { err: (err as Error).message },
        'cannot watch the rules directory; reload with SIGHUP or POST /v1/rules/reload',
      )
      return
    }
    for (const [dir, watcher] of watchers) {
      if (!dirs.has(dir)) {
        watcher.close()
        watchers.delete(dir)
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue
      try {
        const watcher = watch(dir, (_event, name) => {
          // Rule files, and names without an extension (a directory appearing or going); not spool files & co.
          if (name === null || isRuleFile(name) || !name.includes('.')) scheduleReload()
        })
        watcher.on('error', () => {
          watcher.close()
          watchers.delete(dir)
        })
        watchers.set(dir, watcher)
      } catch (err) {
        logger.warn({ dir, err: (err as Error).message }, 'cannot watch a rules directory; reload with SIGHUP')
      }
    }
  }

  function reload(reason: string): Promise<ReloadResult> {
    const result = chain.then(() => run(reason))
    chain = result.catch(() => undefined)
    void result.finally(refreshWatchers)
    return result
  }
  let timer: NodeJS.Timeout | undefined
  // Reloads run one after another: a file event during a reload triggers one more afterwards.
  let chain: Promise<unknown> = Promise.resolve()

  async function run(reason: string): Promise<ReloadResult> {
    let loaded: ReturnType<typeof loadRules>
    try {
      loaded = loadRules(options.dir, { env: options.env, limits: options.limits })
    } catch (err) {
      loaded = {
        dir: options.dir,
        rules: [],
        hooks: [],
        files: [],
        issues: [{ file: options.dir, field: '', message: (err as Error).message }],
      }
    }
    const before = options.current()
    if (loaded.issues.length > 0) {
      state.lastErrors = loaded.issues
      state.failedReloads++
      logger.error(
        { reason, problems: loaded.issues.map(formatIssue) },
        `rules not reloaded: ${loaded.issues.length} problem(s); the previous rules keep running`,
      )
      return { ok: false, rules: before.rules.length, issues: loaded.issues, added: [], removed: [], changed: [] }
    }
    const next = createRuleSet(loaded.rules, loaded.hooks)
    const oldByName = new Map(before.rules.map((r) => [r.name, JSON.stringify(r.definition)]))
    const newNames = new Set(next.rules.map((r) => r.name))
    const added = next.rules.filter((r) => !oldByName.has(r.name)).map((r) => r.name)
    const removed = [...oldByName.keys()].filter((name) => !newNames.has(name))
    const changed = next.rules
      .filter((r) => oldByName.has(r.name) && oldByName.get(r.name) !== JSON.stringify(r.definition))
      .map((r) => r.name)
    await options.apply(next)
    state.version++
    state.lastReloadAt = Date.now()
    state.lastErrors = []
    logger.info({ reason, rules: next.rules.length, added, removed, changed }, 'rules reloaded')
    return { ok: true, rules: next.rules.length, issues: [], added, removed, changed }
  }

  return {
    reload,
    watch() {
      watching = true
      refreshWatchers()
    },
    close() {
      watching = false
      if (timer) clearTimeout(timer)
      for (const watcher of watchers.values()) watcher.close()
      watchers.clear()
    },
    state,
  }
}
