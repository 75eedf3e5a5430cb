import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { configProblems } from '../helpers/config.js'
import { call } from '../helpers/http.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'

// Issue 20 item 1: one JSON line per refusal (and per sampled allow): who, where, why, how fast.
interface DecisionLine {
  decision: string
  reqId: string
  mode: string
  method: string
  path: string | null
  status: number
  code: string | null
  reason: string | null
  iss: string | null
  sub: string | null
  jti: string | null
  ip: string
  latency_us: number
  suppressed?: number
}

function decisionLines (gw: Gateway): DecisionLine[] {
  return gw.logs.map((line) => JSON.parse(line) as DecisionLine & { msg: string }).filter((line) => line.msg === 'decision')
}

const verify = async (gw: Gateway, token: string, uri = '/accounts/42?secret=query-value'): Promise<number> =>
  (await call(`${gw.url}/auth/verify`, { token, headers: { 'x-forwarded-uri': uri, 'x-forwarded-method': 'DELETE' } })).status

t.test('a refusal is one line: mode, method, canonical path without query, status, code, subject and cut jti, latency; never the token', async (t) => {
  const gw = await startGateway(t, { TRUSTED_PROXIES: '127.0.0.1', PUBLIC_PATHS: '/public' })
  const revoked = sign({ claims: { iss: 'https://sso.example', sub: 'alice', jti: 'jti-0123456789-abcdef' } })
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token: revoked })).status, 200)
  t.equal(await verify(gw, revoked, '/accounts/%34%32?secret=query-value'), 401)
  const [line, ...more] = decisionLines(gw)
  t.same(more, [], 'the logout itself is no decision line (it is audited)')
  t.match(line, { decision: 'denied', mode: 'forward_auth', method: 'DELETE', path: '/accounts/42', status: 401 })
  t.match(line, { code: 'TG_ERR_TOKEN_REVOKED', reason: 'revoked', iss: 'https://sso.example', sub: 'alice', jti: 'jti-0123', ip: '127.0.0.1' })
  t.ok(Number.isInteger(line.latency_us) && line.latency_us >= 0, `latency in µs (${line.latency_us})`)
  t.ok(typeof line.reqId === 'string' && line.reqId.length > 0, 'with the request id')
  const all = gw.logs.join('\n')
  t.notOk(all.includes(revoked) || all.includes(revoked.split('.')[2]), 'no token, nor its signature')
  t.notOk(all.includes('query-value'), 'no query')

  t.equal(await verify(gw, 'junk.junk.junk'), 401)
  t.match(decisionLines(gw).at(-1), { reason: 'malformed', sub: null, jti: null, iss: null }, 'a forged or junk token names no subject')
  t.equal(await verify(gw, sign(), '/public/x'), 200)
  t.equal(await verify(gw, sign()), 200)
  t.equal(decisionLines(gw).length, 2, 'allows and public paths are not logged by default (DECISION_LOG_SAMPLE=0)')
})

t.test('a flood of junk is bounded to DECISION_LOG_LINES_PER_S lines per reason, each counting what it stands for', async (t) => {
  const gw = await startGateway(t, { DECISION_LOG_LINES_PER_S: '5' })
  const sent = 300
  await Promise.all(Array.from({ length: sent }, async () => await verify(gw, 'junk.junk.junk')))
  const burst = decisionLines(gw)
  const seconds = Math.ceil(burst.length / 5)
  t.ok(burst.length <= 15, `${burst.length} lines for ${sent} refusals`)
  // The next line for the reason, in a later second, carries the count held back.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  await verify(gw, 'junk.junk.junk')
  const lines = decisionLines(gw)
  const accounted = lines.length + lines.reduce((sum, line) => sum + (line.suppressed ?? 0), 0)
  t.equal(accounted, sent + 1, `every refusal is a line or counted in one (${lines.length} lines over ${seconds}+ s)`)
  t.equal(valueOf(await scrape(gw.url), 'tokengate_decision_duration_seconds_count', { mode: 'forward_auth', outcome: 'denied' }), sent + 1, 'and every one is in the latency histogram')
})

t.test('DECISION_LOG_SAMPLE=1 logs every allow too; proxy decisions say mode proxy', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, { DECISION_LOG_SAMPLE: '1', UPSTREAM_URL: upstream.url })
  const token = sign({ claims: { sub: 'bob', jti: 'jti-bob-0123456789' } })
  t.equal((await call(`${gw.url}/orders/7?page=2`, { token })).status, 200)
  t.match(decisionLines(gw), [{ decision: 'allowed', mode: 'proxy', method: 'GET', path: '/orders/7', status: 200, code: null, sub: 'bob', jti: 'jti-bob-' }])
})

t.test('DECISION_LOG_SAMPLE and DECISION_LOG_LINES_PER_S are checked at start-up', async (t) => {
  for (const value of ['2', '-0.1', '1%', 'half']) {
    t.match(configProblems({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DECISION_LOG_SAMPLE: value }), [/^DECISION_LOG_SAMPLE: /], value)
  }
  t.same(configProblems({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DECISION_LOG_SAMPLE: '0.01' }), [])
  t.match(configProblems({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32), DECISION_LOG_LINES_PER_S: '0' }), [/^DECISION_LOG_LINES_PER_S: /])
})
