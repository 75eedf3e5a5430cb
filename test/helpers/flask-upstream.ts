import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

// A real Flask app behind tokengate: Werkzeug decodes the whole path (every
// escape, UTF-8) before routing, as Django, Starlette, Spring and Go do.

export const PYTHON = process.env.PYTHON_BIN ?? '/usr/bin/python3'

const APP = String.raw`
import json, sys
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

app = Flask(__name__)

def handler(name):
    def run(**params):
        return jsonify(route=name, path=request.path, params=params)
    run.__name__ = 'h%d' % len(app.view_functions)
    return run

for spec in json.loads(sys.argv[1]):
    method, rule = spec.split(' ', 1)
    app.add_url_rule(rule, view_func=handler(spec), methods=[method])
catch_all = handler('*')
app.add_url_rule('/', view_func=catch_all, methods=['GET', 'POST', 'PUT', 'DELETE', 'PATCH'])
app.add_url_rule('/<path:rest>', view_func=catch_all, methods=['GET', 'POST', 'PUT', 'DELETE', 'PATCH'])

server = make_server('127.0.0.1', 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
`

export const flaskMissing = existsSync(PYTHON) ? false : `python3 not found at ${PYTHON} (apt-get install python3-flask; .ci/run installs it)`

export interface FlaskUpstream {
  readonly url: string
  readonly port: number
}

/**
 * Spawns the Flask app on a free loopback port (it prints the port). `routes`
 * are `METHOD /rule` with Werkzeug rules (`/files/<name>`); each handler
 * answers `{ route, path, params }`, and anything else lands in the catch-all
 * `*`. Stopped when the test ends.
 */
export async function startFlaskUpstream (t: { teardown: (fn: () => unknown) => void }, routes: readonly string[]): Promise<FlaskUpstream> {
  const child = spawn(PYTHON, ['-c', APP, JSON.stringify(routes)], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await exited
    }
  })
  let stderr = ''
  // Werkzeug logs every request to stderr: keep the start-up part only.
  child.stderr.on('data', (chunk: Buffer) => { if (stderr.length < 4096) stderr += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = out.split('\n')
      if (line.length > 1) resolve(Number(line[0]))
    })
    child.once('exit', () => reject(new Error(`Flask did not start: ${stderr}`)))
  })
  return { url: `http://127.0.0.1:${port}`, port }
}
