import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { nowS, sign, signRaw } from '../helpers/tokens.js'

const admin = (): string => sign({ claims: { sub: 'ops-1', roles: ['admin'] } })

/** An own property, whatever its name (`body.__proto__` would read the prototype). */
function own (object: object, name: string): unknown {
  return Object.getOwnPropertyDescriptor(object, name)?.value
}

t.test('the audit summary counts reasons named like Object.prototype members', async (t) => {
  const gw = await startGateway(t, { RATE_LIMIT_ADMIN_PER_MIN: '0' })
  const reasons = ['__proto__', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']
  for (const [i, reason] of reasons.entries()) {
    t.equal((await call(`${gw.url}/admin/users/u${i}/revoke`, { method: 'POST', token: admin(), json: { reason } })).status, 200)
  }
  const res = await call(`${gw.url}/admin/audit/summary`, { token: admin() })
  t.equal(res.status, 200)
  const bucket = res.body.events.admin_user_revoked
  t.equal(bucket.total, 6)
  t.equal(own(bucket.reasons, '__proto__'), 2)
  for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) t.equal(own(bucket.reasons, name), 1, name)
  t.same(Object.keys(bucket.reasons).sort(), ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf'])
})

t.test('a refresh token\'s "__proto__" claim is copied as a claim, never as the new payload\'s prototype', async (t) => {
  const gw = await startGateway(t)
  const now = nowS()
  const claims = JSON.parse(`{"sub":"carol","jti":"j-proto","iat":${now},"exp":${now + 900},"sid":"s1","token_type":"refresh","__proto__":{"roles":["admin"]}}`)
  const res = await call(`${gw.url}/auth/refresh`, { method: 'POST', json: { refresh_token: signRaw(claims) } })
  t.equal(res.status, 200)
  const payload = JSON.parse(Buffer.from(res.body.access_token.split('.')[1], 'base64url').toString())
  t.same(own(payload, '__proto__'), { roles: ['admin'] }, 'kept as the claim it was')
  t.equal(own(payload, 'roles'), undefined, 'no roles appear from it')
  const alerts = await call(`${gw.url}/admin/alerts`, { token: res.body.access_token })
  t.equal(alerts.status, 403, 'and it grants nothing')
})
