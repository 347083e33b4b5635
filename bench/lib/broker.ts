// The bench's own mosquitto on a free loopback port (never the system one on 1883): no queue or in-flight limits,
// so the broker never drops what a slow system has not taken yet, and Nagle off on its sockets.
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { exited, freePort, spawnLogged, stopProcess, waitFor } from './procs.js'

export interface Broker {
  port: number
  url: string
  pid: number
  stop(): Promise<void>
}

/** BENCH_BROKER_NODELAY=false leaves Nagle on in the broker (mosquitto's default), to measure what it costs. */
export async function startBroker(
  dir: string,
  options: { tcpNoDelay?: boolean } = { tcpNoDelay: process.env.BENCH_BROKER_NODELAY !== 'false' },
): Promise<Broker> {
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'max_queued_messages 0',
    'max_queued_bytes 0',
    'max_inflight_messages 0',
    `set_tcp_nodelay ${options.tcpNoDelay === false ? 'false' : 'true'}`,
    // $SYS/broker/store/messages/count once a second: how the backlog phase knows the bridge took everything.
    'sys_interval 1',
    'log_dest none',
  ]
  writeFileSync(conf, `${lines.join('\n')}\n`)
  const child: ChildProcess = spawnLogged('mosquitto', ['-c', conf], { logFile: join(dir, 'mosquitto.log') })
  await waitFor(
    () => {
      if (exited(child)) throw new Error(`mosquitto exited with ${child.exitCode} (see ${dir}/mosquitto.log)`)
      return canConnect(port)
    },
    { what: `mosquitto on port ${port}`, timeoutMs: 10_000, intervalMs: 50 },
  )
  return { port, url: `mqtt://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopProcess(child) }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
