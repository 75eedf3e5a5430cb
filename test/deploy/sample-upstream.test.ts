import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { call } from '../helpers/http.js'

// The API stand-in that deploy/docker-compose.yml runs: it must start from the
// file alone (node:24-slim, no dependencies) and show the identity it receives.
t.test('the compose sample upstream echoes the identity headers it receives', async (t) => {
  const script = fileURLToPath(new URL('../../deploy/sample-upstream/echo.mjs', import.meta.url))
  const child = spawn(process.execPath, [script], { env: { PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGTERM') })
  const [line] = await once(child.stdout, 'data') as [Buffer]
  const port = /listening on (\d+)/.exec(line.toString())?.[1]
  t.ok(port, 'prints the port it listens on')
  const res = await call(`http://127.0.0.1:${port}/accounts?x=1`, { headers: { 'x-user-id': 'alice', 'x-token-scope': 'read', cookie: 'not-echoed' } })
  t.equal(res.status, 200)
  t.same(res.body, { method: 'GET', url: '/accounts?x=1', identity: { 'x-user-id': 'alice', 'x-token-scope': 'read' } })
})
