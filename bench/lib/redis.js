import { execFileSync } from 'node:child_process'
import { freePort, startProcess } from './processes.js'

/** A private redis-server on a free loopback port, nothing persisted, never evicting. */
export async function startRedis (dir, { cpu = null } = {}) {
  const port = await freePort()
  const handle = await startProcess('redis', 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--maxmemory-policy', 'noeviction', '--dir', dir
  ], { port, cpu })
  return { ...handle, stop: handle.stop, redisUrl: `redis://127.0.0.1:${port}` }
}

export function redisVersion () {
  try {
    return /v=([\d.]+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? null
  } catch {
    return null
  }
}
