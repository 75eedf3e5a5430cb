import t from 'tap'
import { startGateway } from './helpers/gateway.js'
import { sign } from './helpers/tokens.js'

t.test('a valid token is allowed with identity headers and an empty body', async (t) => {
  const gw = await startGateway(t)
  const token = sign({ claims: { sub: 'alice', scope: 'read write', roles: ['teller', 'admin'] } })
  const res = await fetch(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-user-id'), 'alice')
  t.equal(res.headers.get('x-token-scope'), 'read write')
  t.equal(res.headers.get('x-user-roles'), 'teller,admin')
  t.equal(await res.text(), '')
})
