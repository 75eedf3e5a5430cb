import { spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from '../helpers/redis.js'
import { until } from '../helpers/until.js'
import { accepting } from './nginx.js'
import { tempDir } from '../helpers/temp-dir.js'

export const CADDY = process.env.CADDY_BIN ?? '/usr/bin/caddy'
export const caddyMissing = existsSync(CADDY) ? false : `caddy not found at ${CADDY} (apt-get install caddy; .ci/run installs it)`

export const SHIPPED_CADDYFILE = new URL('../../deploy/caddy/Caddyfile', import.meta.url)

interface Teardown { teardown: (fn: () => unknown) => void }

/** Replaces every `from` with `to`, failing when the shipped file does not hold it exactly `count` times. */
function replaceExactly (text: string, from: string, to: string, count: number): string {
  const found = text.split(from).length - 1
  if (found !== count) throw new Error(`the shipped Caddyfile holds "${from}" ${found} times, expected ${count}`)
  return text.replaceAll(from, to)
}

export interface CaddyPorts { readonly listen: number, readonly tokengate: number, readonly api: number }

/** deploy/caddy/Caddyfile with only its addresses changed to loopback ones. */
export function renderShippedCaddyfile (ports: CaddyPorts): string {
  let conf = readFileSync(SHIPPED_CADDYFILE, 'utf8')
  conf = replaceExactly(conf, 'tokengate:8080', `127.0.0.1:${ports.tokengate}`, 2)
  conf = replaceExactly(conf, 'finance-api:8000', `127.0.0.1:${ports.api}`, 1)
  conf = replaceExactly(conf, '\n:80 {', `\nhttp://127.0.0.1:${ports.listen} {`, 1)
  return conf
}

export interface Caddy { readonly url: string }

/** Runs real Caddy in the foreground with the shipped Caddyfile; its data and config dirs are temp ones. */
export async function startCaddy (t: Teardown, ports: Omit<CaddyPorts, 'listen'>): Promise<Caddy> {
  return await startCaddySite(t, (listen) => renderShippedCaddyfile({ ...ports, listen }))
}

/** Real Caddy, as startCaddy, with a Caddyfile of the test's own (`site` is given the port to listen on). */
export async function startCaddySite (t: Teardown, site: (listen: number) => string, scheme = 'http'): Promise<Caddy> {
  const dir = tempDir(t, 'tokengate-caddy-')
  const listen = await freePort()
  const file = join(dir, 'Caddyfile')
  writeFileSync(file, site(listen))
  const child = spawn(CADDY, ['run', '--config', file, '--adapter', 'caddyfile'], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  const listening = await until(async () => child.exitCode !== null || await accepting(listen), 10_000, 20)
  if (!listening || child.exitCode !== null) throw new Error(`caddy did not start: ${stderr}`)
  return { url: `${scheme}://127.0.0.1:${listen}` }
}
