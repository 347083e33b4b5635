// The result file as a markdown table and as an SVG bar chart (written as text: no chart library).
import type { Results } from './results.js'
import { fmt } from './stats.js'

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

const x = (value: number | undefined, digits = 2) =>
  value === undefined || !Number.isFinite(value) ? 'n/a' : `${fmt(value, digits)}×`

export function markdown(results: Results): string {
  const systems = results.systems.filter((s) => !s.skipped)
  const summary = results.pipeline.summary
  const cell = (id: string, read: (s: NonNullable<(typeof summary)[string]>) => string) =>
    summary[id] ? read(summary[id]!) : 'n/a'
  const rates = results.profile.rates
  const out: string[] = []
  const m = results.machine
  out.push(
    `Generated ${results.generatedAt} by \`${results.command}\` (${results.profile.name} profile: medians of ` +
      `${results.profile.reps} run${results.profile.reps > 1 ? 's' : ''}, ${Math.round(results.durationS / 60)} min). ` +
      `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, mosquitto ${m.mosquitto}; ` +
      `load average ${(m.loadAverageStart as number[])[0]?.toFixed(1)} at the start, ` +
      `${(m.loadAverageEnd as number[])[0]?.toFixed(1)} at the end. Broker, receiver and publisher run on the same machine. ` +
      `hookbridge ${results.versions.hookbridge}, ${results.versions.hookbridgeBuild}; Node-RED ${results.versions.nodeRed}, ` +
      `MQTT.js ${results.versions.mqtt}, undici ${results.versions.undici}, jsonata ${results.versions.jsonata}.`,
  )
  for (const s of results.systems.filter((s) => s.skipped)) out.push(`\n${s.label}: skipped (${s.skipped}).`)

  out.push('\n### MQTT → HTTP, absolute figures\n')
  const rows: string[][] = [
    [
      `delivered msg/s (burst of ${results.profile.burst.toLocaleString('en-US')}: delivered / first publish to last receipt)`,
      ...systems.map((s) => cell(s.id, (v) => fmt(v.deliveredPerSecond))),
    ],
    ['lost in the burst', ...systems.map((s) => cell(s.id, (v) => fmt(v.burstLost, 0)))],
    ['CPU ms per 1k messages (burst)', ...systems.map((s) => cell(s.id, (v) => fmt(v.cpuMsPer1k, 1)))],
    ['peak RSS MB', ...systems.map((s) => cell(s.id, (v) => fmt(v.peakRssMB, 0)))],
    [
      'HTTP connections to the receiver (peak)',
      ...systems.map((s) => cell(s.id, (v) => fmt(v.receiverConnections, 0))),
    ],
  ]
  for (const rate of rates) {
    rows.push([
      `latency at ${rate.toLocaleString('en-US')} msg/s: p50 / p99 / max ms`,
      ...systems.map((s) =>
        cell(s.id, (v) => {
          const l = v.latency[String(rate)]
          return l
            ? `${fmt(l.p50Ms)} / ${fmt(l.p99Ms)} / ${fmt(l.maxMs)}${l.lost > 0 ? ` (lost ${fmt(l.lost, 0)})` : ''}`
            : 'n/a'
        }),
      ),
    ])
  }
  out.push(table(['', ...systems.map((s) => s.label)], rows))

  out.push('\n### Ratios (median of the per-run ratios; throughput: higher is better, the rest: lower is better)\n')
  const pairs = Object.keys(results.ratios)
  const metricLabels: Record<string, string> = {
    deliveredPerSecond: 'delivered msg/s',
    cpuMsPer1k: 'CPU per message',
    peakRss: 'peak RSS',
    p50At1k: 'p50 latency at 1k/s',
    p99At1k: 'p99 latency at 1k/s',
    p99At5k: 'p99 latency at 5k/s',
  }
  out.push(
    table(
      ['', ...pairs],
      Object.entries(metricLabels).map(([key, label]) => [label, ...pairs.map((p) => x(results.ratios[p]?.[key]))]),
    ),
  )

  if (results.backlog.length > 0) {
    out.push(`\n### Backlog: ${results.profile.backlog.toLocaleString('en-US')} messages while the receiver is down\n`)
    out.push(
      table(
        [
          '',
          'taken (stored and acknowledged)',
          'time s',
          'intake msg/s',
          'peak RSS MB',
          'RSS at the end MB',
          'spool on disk MB',
          'CPU ms per 1k',
        ],
        results.backlog.map((b) => [
          b.system,
          `${(b.messages - b.leftWithBroker).toLocaleString('en-US')}${b.complete ? '' : ' (incomplete)'}`,
          fmt(b.seconds, 0),
          fmt(b.intakePerSecond),
          fmt(b.peakRssBytes / 1048576, 0),
          fmt(b.finalRssBytes / 1048576, 0),
          fmt(b.spoolBytes / 1048576, 0),
          fmt(b.cpuMsPer1k, 1),
        ]),
      ),
    )
  }

  const http = results.httpPublish.summary
  if (Object.keys(http).length > 0) {
    out.push(
      `\n### HTTP → MQTT publish, QoS 1, answered after PUBACK (autocannon, ${results.profile.httpConnections} connections, ${results.profile.httpDurationS} s)\n`,
    )
    out.push(
      table(
        ['', 'requests/s', 'p50 ms', 'p99 ms', 'non-2xx', 'CPU ms per 1k', 'peak RSS MB'],
        Object.entries(http).map(([id, v]) => [
          id === 'hookbridge'
            ? 'hookbridge POST /v1/publish/{topic}'
            : id === 'raw-hono'
              ? 'raw hono → MQTT.js handler'
              : `${id} POST /v1/publish/{topic}`,
          fmt(v.requestsPerSecond),
          fmt(v.p50Ms),
          fmt(v.p99Ms),
          fmt(v.non2xx, 0),
          fmt(v.cpuMsPer1k, 1),
          fmt(v.peakRssMB, 0),
        ]),
      ),
    )
    out.push(`\nhookbridge / raw handler: ${x(results.httpPublish.ratio)}`)
  }

  const tm = results.micro.topicMatching
  if (tm) {
    out.push('\n### Topic matching, 10,000 rules (matches per second, one core)\n')
    const base = tm.hookbridgeTrie?.perSecond
    out.push(
      table(
        ['matcher', 'matches/s', 'hookbridge trie / this'],
        Object.entries(tm).map(([name, v]) => [
          name,
          fmt(v.perSecond),
          x(base === undefined ? undefined : base / v.perSecond),
        ]),
      ),
    )
  }
  const js = results.micro.jsonata
  if (js) {
    out.push('\n### JSONata, the bench transform (evaluations per second, one core)\n')
    const lib = js.jsonataLibrary
    out.push(
      table(
        ['', 'per second', 'µs each', 'this / jsonata library'],
        Object.entries(js).map(([name, v]) => [
          name,
          fmt(v),
          fmt(1e6 / v, 2),
          x(lib === undefined ? undefined : v / lib),
        ]),
      ),
    )
  }

  const spool = results.micro.spool
  if (spool) {
    out.push('\n### The spool alone (jobs per second, one core; 256 in flight, group-committed)\n')
    out.push(
      table(
        ['', 'jobs/s', 'µs each'],
        Object.entries(spool).map(([name, v]) => [name, fmt(v), fmt(1e6 / v, 1)]),
      ),
    )
    out.push('\nroundTrip: enqueue, lease and complete; intake: enqueue only (a backlog building up).')
  }

  out.push('\n### Targets\n')
  out.push(
    table(
      ['target', 'wanted', 'measured', 'met'],
      results.targets.map((t) => [
        t.description,
        t.target,
        `${fmt(t.value)}${t.unit}`,
        t.met === null ? 'n/a' : t.met ? 'yes' : '**no**',
      ]),
    ),
  )
  return `${out.join('\n')}\n`
}

const shortLabels: Record<string, string> = {
  'hookbridge-durable': 'hookbridge, durable spool',
  'hookbridge-memory': 'hookbridge, memory spool',
  'hookbridge-variant': 'hookbridge variant',
  'raw-pipe': 'raw pipe (same JSONata)',
  'raw-ceiling': 'raw pipe, no transform',
  'node-red': 'Node-RED 4',
}

/** Two panels of horizontal bars: delivered msg/s at saturation, and p99 latency at the first fixed rate. */
export function svg(results: Results): string {
  const systems = results.systems.filter((s) => !s.skipped && results.pipeline.summary[s.id])
  const firstRate = String(results.profile.rates[0] ?? 1000)
  const panels = [
    {
      title: `Delivered messages/s at saturation (burst of ${results.profile.burst.toLocaleString('en-US')}, lost ones not counted; higher is better)`,
      value: (id: string) => results.pipeline.summary[id]!.deliveredPerSecond,
      unit: ' msg/s',
      log: false,
    },
    {
      title: `p99 publish-to-receipt latency at ${Number(firstRate).toLocaleString('en-US')} msg/s, ms (log scale; lower is better)`,
      value: (id: string) => results.pipeline.summary[id]!.latency[firstRate]?.p99Ms ?? Number.NaN,
      unit: ' ms',
      log: true,
    },
  ]
  const width = 900
  const labelWidth = 300
  const barMax = width - labelWidth - 120
  const rowHeight = 26
  const panelHeight = 40 + systems.length * rowHeight + 20
  const height = panels.length * panelHeight + 40
  const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">hookbridge bench (${xml(results.generatedAt.slice(0, 10))}, ${xml(String(results.machine.cpus))} cores, ${results.profile.name} profile)</text>`,
  ]
  panels.forEach((panel, p) => {
    const top = 40 + p * panelHeight
    parts.push(`<text x="10" y="${top + 18}" font-weight="bold">${xml(panel.title)}</text>`)
    const values = systems.map((s) => panel.value(s.id))
    const finite = values.filter((v) => Number.isFinite(v) && v > 0)
    const max = Math.max(...finite, 1)
    const min = Math.min(...finite, 1)
    const scale = (v: number) => {
      if (!Number.isFinite(v) || v <= 0) return 0
      if (!panel.log) return (v / max) * barMax
      const lo = Math.log10(Math.min(min, 0.1))
      return ((Math.log10(v) - lo) / (Math.log10(max) - lo || 1)) * barMax
    }
    systems.forEach((s, i) => {
      const y = top + 30 + i * rowHeight
      const v = values[i]!
      const colour = s.id.startsWith('hookbridge') ? '#2b6cb0' : s.id === 'node-red' ? '#b83232' : '#718096'
      parts.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${xml(shortLabels[s.id] ?? s.id)}</text>`)
      parts.push(
        `<rect x="${labelWidth}" y="${y + 3}" width="${scale(v).toFixed(1)}" height="${rowHeight - 8}" fill="${colour}"/>`,
      )
      parts.push(`<text x="${labelWidth + scale(v) + 6}" y="${y + 15}">${xml(fmt(v))}${xml(panel.unit)}</text>`)
    })
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
