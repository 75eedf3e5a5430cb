import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { tempFile } from '../helpers/temp-dir.js'
import { sign } from '../helpers/tokens.js'

// Issue 16 item 4: a trusted proxy that sends no original URI used to get a
// decision with no public path and no rule, silently. Now it is refused
// whenever PUBLIC_PATHS or ACCESS_RULES_FILE is set.

const RULES = tempFile(t, 'rules.json', JSON.stringify([{ method: '*', path: '/admin', roles: ['admin'] }]))
const admin = sign({ claims: { roles: ['admin'] } })

t.test('a trusted proxy without X-Original-URI / X-Forwarded-Uri is refused 400 when rules or public paths are configured', async (t) => {
  for (const env of [{ ACCESS_RULES_FILE: RULES }, { PUBLIC_PATHS: '/public' }, { ACCESS_RULES_FILE: RULES, PUBLIC_PATHS: '/public' }]) {
    const gw = await startGateway(t, env)
    for (const headers of [{}, { 'x-original-method': 'DELETE' }, { 'x-forwarded-method': 'GET', 'x-forwarded-host': 'api.example' }]) {
      for (const token of [sign(), admin, undefined]) {
        const res = await call(`${gw.url}/auth/verify`, { token, headers })
        t.equal(res.status, 400, `${Object.keys(env).join('+')} ${JSON.stringify(headers)}`)
        t.equal(res.body.error, 'invalid_request')
        t.match(res.body.error_description, /no original URI/)
      }
    }
    t.equal((await call(`${gw.url}/auth/verify`, { token: admin, headers: { 'x-original-uri': '/admin/x' } })).status, 200, 'with the URI it is decided')
  }
})

t.test('without rules or public paths, a request without the original URI is decided on the token as before', async (t) => {
  const gw = await startGateway(t)
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 200)
  t.equal((await call(`${gw.url}/auth/verify`)).status, 401)
})

t.test('from a peer outside TRUSTED_PROXIES the forwarded headers are ignored as before: decided on the token alone', async (t) => {
  const gw = await startGateway(t, { ACCESS_RULES_FILE: RULES, TRUSTED_PROXIES: '10.1.2.3' })
  t.equal((await call(`${gw.url}/auth/verify`, { token: sign() })).status, 200)
  t.equal((await call(`${gw.url}/auth/verify`)).status, 401)
})
