import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { MAIN } from '../helpers/cli.js'
import { freePort } from '../helpers/redis.js'
import { SECRET } from '../helpers/tokens.js'
import { waitFor } from '../helpers/until.js'

interface Teardown { teardown: (fn: () => unknown) => void }

export interface ClusterGateway {
  readonly child: ChildProcess
  readonly base: string
  readonly exited: Promise<[number | null, string | null]>
  logs: () => string
  /** Pids of the primary's live worker processes, read from /proc. */
  workerPids: () => number[]
}

/** Every pid whose parent is `parent`. */
export function childrenOf (parent: number): number[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((name) => {
    try {
      // Fields after the command name (which may hold spaces): state, ppid, ...
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return Number(fields[1]) === parent && fields[0] !== 'Z' ? [Number(name)] : []
    } catch {
      return []
    }
  })
}

/** Starts `tokengate serve` as a cluster primary; resolves once every worker listens. */
export async function startCluster (t: Teardown, env: Record<string, string>): Promise<ClusterGateway> {
  const port = await freePort()
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', JWT_SECRET: SECRET, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...env }
  })
  let logs = ''
  child.stdout?.on('data', (d: Buffer) => { logs += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { logs += d.toString() })
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>
  t.teardown(() => {
    if (child.exitCode !== null || child.pid === undefined) return
    for (const pid of childrenOf(child.pid)) process.kill(pid, 'SIGKILL')
    child.kill('SIGKILL')
  })
  await waitFor(() => logs.includes('"workers listening"'), `the workers to listen (logs: ${logs.slice(0, 2000)})`)
  const pid = child.pid ?? 0
  return { child, base: `http://127.0.0.1:${port}`, exited, logs: () => logs, workerPids: () => childrenOf(pid) }
}

/**
 * A request on a new connection: the cluster primary hands each new
 * connection to the next worker, so consecutive calls reach every worker.
 */
export async function onNewConnection (url: string, options: { method?: string, token?: string } = {}): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const headers = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }
    const req = httpRequest(url, { agent: false, method: options.method ?? 'GET', headers, timeout: 10_000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within 10 s`)))
    req.end()
  })
}
