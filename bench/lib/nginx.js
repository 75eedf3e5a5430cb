import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, startProcess } from './processes.js'

export const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx'

/** nginx's version (`nginx -v` prints it on stderr), or null when nginx is not installed. */
export function readNginxVersion () {
  if (!existsSync(NGINX)) return null
  const { stderr } = spawnSync(NGINX, ['-v'], { encoding: 'utf8' })
  return /nginx\/([\d.]+)/.exec(stderr ?? '')?.[1] ?? null
}

// One worker: every Node server in the bench is one process too, on the same 2 cores.
function config (dir, port, body, upstreams) {
  const temp = (name) => join(dir, name)
  return `
daemon off;
master_process on;
worker_processes 1;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  keepalive_requests 1000000;
  ${upstreams}
  server {
    listen 127.0.0.1:${port};
${body}
  }
}
`
}

const UPSTREAM_PROXY = `
      proxy_http_version 1.1;
      proxy_set_header Connection "";`

/** nginx as a plain reverse proxy in front of `upstream`, with pooled keep-alive connections. */
export function proxyConfig (upstreamPort) {
  return (dir, port) => config(dir, port, `
    location / {
      proxy_pass http://backend;${UPSTREAM_PROXY}
    }`, `upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 64; }`)
}

/**
 * nginx auth_request: every request is first asked of `authPort` (the same
 * sub-request headers tokengate's deploy/ config sends), then nginx answers an
 * empty GIF itself so that the auth call is what the figure measures.
 */
export function authRequestConfig (authPort, authPath) {
  return (dir, port) => config(dir, port, `
    location = /_auth {
      internal;
      proxy_pass http://auth${authPath};
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;${UPSTREAM_PROXY}
    }
    location / {
      auth_request /_auth;
      empty_gif;
    }`, `upstream auth { server 127.0.0.1:${authPort}; keepalive 64; }`)
}

/** Writes the configuration into its own directory under `root` and runs nginx in the foreground. */
export async function startNginx (name, root, render, { cpu = null } = {}) {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  const port = await freePort()
  const file = join(dir, 'nginx.conf')
  writeFileSync(file, render(dir, port))
  return await startProcess(name, NGINX, ['-p', dir, '-c', file, '-e', join(dir, 'error.log')], { port, cpu })
}
