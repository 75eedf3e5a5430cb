import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../helpers/redis.js'
import { until } from '../helpers/until.js'

export const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx'
export const nginxMissing = existsSync(NGINX) ? false : `nginx not found at ${NGINX} (apt-get install nginx-light; .ci/run installs it)`

interface Teardown { teardown: (fn: () => unknown) => void }

/** Replaces `from` with `to`, failing when the shipped file no longer holds exactly one `from`. */
function replaceOnce (text: string, from: string, to: string): string {
  const count = text.split(from).length - 1
  if (count !== 1) throw new Error(`the shipped config holds "${from}" ${count} times, expected once`)
  return text.replace(from, to)
}

export interface ShippedConfigPorts {
  readonly listen: number
  readonly tokengate: number
  readonly api: number
}

/** deploy/nginx/tokengate.conf with only its addresses and port changed to loopback ones. */
export function renderShippedConfig (ports: ShippedConfigPorts): string {
  let conf = readFileSync(new URL('../../deploy/nginx/tokengate.conf', import.meta.url), 'utf8')
  conf = replaceOnce(conf, 'server tokengate:8080;', `server 127.0.0.1:${ports.tokengate};`)
  conf = replaceOnce(conf, 'server finance-api:8000;', `server 127.0.0.1:${ports.api};`)
  conf = replaceOnce(conf, 'listen 80;', `listen 127.0.0.1:${ports.listen};`)
  return conf
}

export async function accepting (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

export interface Nginx {
  readonly url: string
  /** The error log so far (auth_request failures and config warnings land here). */
  errorLog: () => string
}

/**
 * Runs real nginx in the foreground on a free loopback port with the shipped
 * site config included into a minimal main config; every path it writes is in
 * a temp prefix. Stopped (SIGQUIT: graceful) when the test ends.
 */
export async function startNginx (t: Teardown, ports: Omit<ShippedConfigPorts, 'listen'>, listenOn?: number): Promise<Nginx> {
  return await startNginxSite(t, (listen) => renderShippedConfig({ ...ports, listen }), 'http', listenOn)
}

/**
 * Real nginx, as startNginx, with a site config of the test's own (`site` is given the port to
 * listen on: `listenOn`, when a test must know it before nginx starts, or a free one).
 */
export async function startNginxSite (t: Teardown, site: (listen: number) => string, scheme = 'http', listenOn?: number): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-nginx-'))
  // Workers run as nobody when the master is root: they must reach the temp paths.
  chmodSync(dir, 0o755)
  const listen = listenOn ?? await freePort()
  writeFileSync(join(dir, 'tokengate.conf'), site(listen))
  const temp = (name: string): string => join(dir, name)
  writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  include ${temp('tokengate.conf')};
}
`)
  const errorLog = temp('error.log')
  const child = spawn(NGINX, ['-p', dir, '-c', temp('nginx.conf'), '-e', errorLog,
    '-g', `daemon off; pid ${temp('nginx.pid')}; error_log ${errorLog} info;`], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT')
      await exited
    }
    rmSync(dir, { recursive: true, force: true })
  })
  const listening = await until(async () => child.exitCode !== null || await accepting(listen), 10_000, 20)
  if (!listening || child.exitCode !== null) {
    const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''
    throw new Error(`nginx did not start: ${stderr}${log}`)
  }
  return {
    url: `${scheme}://127.0.0.1:${listen}`,
    errorLog: () => existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''
  }
}
