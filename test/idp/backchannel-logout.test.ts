import t from 'tap'
import { call } from '../helpers/http.js'
import { buildGateway } from '../helpers/gateway.js'
import { BROWSER_CLIENT, SESSION_CLIENT, startLogoutProvider, SUBJECT_CLIENT } from '../helpers/oidc-provider.js'
import { freePort, sharedRedis, startRedis } from '../helpers/redis.js'
import { nowS, sign } from '../helpers/tokens.js'
import { scrape, valueOf } from '../helpers/scrape.js'
import { msUntil, until } from '../helpers/until.js'
import { accessToken, logoutSetup, logoutToken, postLogout, verifyStatus } from './backchannel-fixture.js'

const redis = await sharedRedis(t)

t.test('Back-Channel Logout §2.7: the provider ends a session; that session\'s tokens are refused on every replica, the user\'s other sessions still pass (p99 of the delay over 200 logouts, after 10 discarded)', async (t) => {
  const { provider, a, b } = await logoutSetup(t, redis.env())
  const WARM_UP = 10
  const delays: number[] = []
  for (let i = 0; i < WARM_UP + 200; i++) {
    const ended = accessToken(provider, 'alice', `session-${i}`)
    const kept = accessToken(provider, 'alice', `other-session-${i}`)
    t.equal(await verifyStatus(b, ended), 200)
    // Resolves once A answered 200: the provider's own check of the answer (§2.8).
    await provider.logout('alice', `session-${i}`)
    const ms = await msUntil(async () => await verifyStatus(b, ended) === 401, 1000, 0)
    if (i >= WARM_UP) delays.push(ms)
    if (i % 50 === 0) {
      t.equal(await verifyStatus(a, ended), 401, 'refused by the replica that received it')
      t.equal(await verifyStatus(b, kept), 200, 'the user\'s other session still passes')
    }
  }
  delays.sort((x, y) => x - y)
  const p99 = delays[Math.ceil(delays.length * 0.99) - 1]
  const p50 = delays[Math.floor(delays.length / 2)]
  t.comment(`200 at A -> refused at B: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${delays.at(-1)?.toFixed(2)} ms over ${delays.length} logouts`)
  // The issue's target is 10 ms p99, met with this file alone (docs/idp-revocation.md has the figures); the
  // whole suite runs files side by side on two cores, which stretches the tail, so the bound asserted is looser.
  t.ok(p99 <= 100, `p99 ${p99.toFixed(2)} ms <= 100 ms, far below MAX_STALENESS_MS (target 10 ms with the file alone)`)
  const metrics = await scrape(a.url)
  t.equal(valueOf(metrics, 'tokengate_idp_messages_total', { source: 'backchannel_logout', result: 'accepted' }), WARM_UP + 200)
  t.equal(valueOf(metrics, 'tokengate_revocations_total', { kind: 'session', reason: 'backchannel_logout' }), WARM_UP + 200)
})

t.test('§2.7 with only sub: every token of the user issued until now is refused, sessions of other users pass', async (t) => {
  const { provider, a, b } = await logoutSetup(t, redis.env())
  const before = [accessToken(provider, 'bob', 'bob-laptop'), accessToken(provider, 'bob', 'bob-phone')]
  const carol = accessToken(provider, 'carol', 'carol-laptop')
  await provider.logout('bob', 'ignored: this client does not require sid', SUBJECT_CLIENT)
  t.ok(await until(async () => (await Promise.all(before.map(async (token) => await verifyStatus(b, token)))).every((s) => s === 401), 1000, 5), 'both of bob\'s sessions refused on the other replica')
  t.equal(await verifyStatus(a, carol), 200)
  t.equal(await verifyStatus(b, carol), 200)
})

t.test('§2.8: a valid logout token is answered 200 with Cache-Control: no-store and an empty body', async (t) => {
  const { provider, a } = await logoutSetup(t, redis.env())
  const res = await postLogout(a, logoutToken(provider))
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal(res.text, '')
})

t.test('a logout token is never accepted as an access token (its events claim, its typ), even with the API\'s audience', async (t) => {
  const { provider, a } = await logoutSetup(t, redis.env())
  for (const header of [{ typ: 'logout+jwt' }, { typ: 'JWT' }]) {
    const token = logoutToken(provider, { claims: { aud: 'orders-api' }, header })
    const res = await call(`${a.url}/auth/verify`, { token })
    t.equal(res.status, 401, `typ ${header.typ}: refused`)
    t.equal(res.body.error, 'invalid_token')
    t.match(res.body.error_description, /logout or security event token/)
  }
})

t.test('Redis down during a back-channel logout: enforced by the receiving replica at once, answered 503 (not stored), stored when Redis returns and then refused by every replica', async (t) => {
  const own = await startRedis()
  t.teardown(() => own.stop())
  const env = { REDIS_URL: own.url, FAIL_MODE: 'open' }
  const { provider, a, b } = await logoutSetup(t, env)
  const token = accessToken(provider, 'dave', 'dave-session')
  t.equal(await verifyStatus(b, token), 200)
  await own.kill()
  await t.rejects(provider.logout('dave', 'dave-session'), /got: 503/, 'the provider is told: not done, try again')
  t.equal(await verifyStatus(a, token), 401, 'refused at once by the replica that received it')
  t.equal(a.app.tokengate.idpRevoker.queued, 1)
  await own.restart()
  t.ok(await until(() => a.app.tokengate.idpRevoker.queued === 0, 10_000), 'stored once Redis is back')
  t.ok(await until(async () => await verifyStatus(b, token) === 401, 10_000), 'and refused by the other replica')
  const metrics = await scrape(a.url)
  t.equal(valueOf(metrics, 'tokengate_idp_messages_total', { source: 'backchannel_logout', result: 'queued' }), 1)
  t.equal(valueOf(metrics, 'tokengate_idp_retry_attempts_total', { result: 'stored' }), 1)
})

t.test('relay_uri: the validated logout token is POSTed on to the application\'s own back-channel URI; a slow or failing one never holds the answer past BACKCHANNEL_RELAY_TIMEOUT_MS', async (t) => {
  const { createServer } = await import('node:http')
  const received: string[] = []
  let mode: 'ok' | 'fail' | 'hang' = 'ok'
  const app = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => { body += chunk.toString() })
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '')
      if (mode === 'ok') res.writeHead(200).end()
      else if (mode === 'fail') res.writeHead(500).end()
    })
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { app.closeAllConnections(); app.close() })
  const port = (app.address() as { port: number }).port
  const { provider, a } = await logoutSetup(t, { ...redis.env(), BACKCHANNEL_RELAY_TIMEOUT_MS: '300' }, { relay_uri: `http://127.0.0.1:${port}/backchannel` })
  const token = logoutToken(provider)
  t.equal((await postLogout(a, token)).status, 200)
  t.same(received, [token], 'relayed as the provider sent it')
  mode = 'fail'
  t.equal((await postLogout(a, logoutToken(provider))).status, 200, 'a failing application does not change the answer')
  mode = 'hang'
  const started = performance.now()
  t.equal((await postLogout(a, logoutToken(provider))).status, 200)
  t.ok(performance.now() - started < 1000, 'a hanging application holds the answer no longer than the timeout')
  t.equal((await postLogout(a, token)).status, 400, 'a replayed token is not relayed')
  t.equal(received.length, 3)
  const metrics = await scrape(a.url)
  t.same(['delivered', 'failed', 'timeout'].map((result) => valueOf(metrics, 'tokengate_backchannel_relays_total', { result })), [1, 1, 1])
})

t.test('§2.7 as chosen: a back-channel logout ends tokengate\'s rotated access and refresh tokens of that session (they keep the provider\'s iss and sid)', async (t) => {
  const port = await freePort()
  const provider = await startLogoutProvider(t, `http://127.0.0.1:${port}/auth/backchannel-logout`)
  // The single-issuer variables: tokengate's own key (JWT_SECRET) and the provider's published keys verify the one issuer.
  const built = await buildGateway(t, {
    ...redis.env(),
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    JWT_ALGORITHMS: 'HS256,RS256',
    JWT_ISSUER: provider.issuer,
    JWKS_URL: `${provider.issuer}/jwks`,
    BACKCHANNEL_LOGOUT_CLIENT_IDS: SESSION_CLIENT
  })
  await built.app.listen({ port, host: '127.0.0.1' })
  const gw = { ...built, url: `http://127.0.0.1:${port}` }
  const login = (over: Record<string, unknown> = {}): string => sign({ claims: { iss: provider.issuer, sub: 'alice', sid: 'idp-session-7', iat: nowS() - 5, ...over } })
  const refreshed = await call(`${gw.url}/auth/refresh`, { method: 'POST', token: login(), json: { refresh_token: login({ token_type: 'refresh' }) } })
  t.equal(refreshed.status, 200)
  t.equal(await verifyStatus(gw, refreshed.body.access_token), 200)
  await provider.logout('alice', 'idp-session-7')
  t.equal(await verifyStatus(gw, refreshed.body.access_token), 401, 'the rotated access token is refused')
  const again = await call(`${gw.url}/auth/refresh`, { method: 'POST', token: login({ sid: 'another-session' }), json: { refresh_token: refreshed.body.refresh_token } })
  t.equal(again.status, 401, 'and the rotated refresh token cannot be used')
  t.equal(again.body.error_description, 'The token has been revoked')
})

t.test('an issuer whose tokens carry no session (session_claim: null): a logout naming sub ends the user; one naming only sid is refused, never a revocation of nothing', async (t) => {
  const { provider, a } = await logoutSetup(t, redis.env(), {}, { session_claim: null })
  const frank = accessToken(provider, 'frank', 'unused')
  const sidOnly = await postLogout(a, logoutToken(provider, { claims: { sub: undefined, sid: 'frank-session' } }))
  t.equal(sidOnly.status, 400)
  t.match(sidOnly.body.error_description, /carry none \(session_claim: null\)/)
  t.equal(await verifyStatus(a, frank), 200)
  t.equal((await postLogout(a, logoutToken(provider, { claims: { sub: 'frank', sid: 'frank-session' } }))).status, 200)
  t.equal(await verifyStatus(a, frank), 401, 'the user\'s tokens are refused')
})

t.test('Redis down and the retry queue full: a back-channel logout is still enforced where it arrived, dropped from the queue, and a CRITICAL alert names the issuer and the session', async (t) => {
  const own = await startRedis()
  t.teardown(() => own.stop())
  const { provider, a } = await logoutSetup(t, { REDIS_URL: own.url, IDP_RETRY_QUEUE_SIZE: '1' })
  const second = accessToken(provider, 'gina', 'gina-second')
  await own.kill()
  await t.rejects(provider.logout('gina', 'gina-first'), /got: 503/)
  await t.rejects(provider.logout('gina', 'gina-second'), /got: 503/)
  t.equal(await verifyStatus(a, second), 401, 'enforced on this replica all the same')
  t.ok(await until(async () => valueOf(await scrape(a.url), 'tokengate_security_alerts_total', { severity: 'CRITICAL', type: 'idp_revocation_dropped' }) === 1, 3000), 'one CRITICAL alert')
  t.ok(a.logs.some((line) => line.includes('idp_revocation_dropped') && line.includes('session \\"gina-second\\"') && line.includes(provider.issuer)), 'naming the issuer and the session')
  t.equal(valueOf(await scrape(a.url), 'tokengate_idp_revocations_dropped_total', { reason: 'queue_full' }), 1)
})

t.test('end to end through the provider\'s own pages: a user signs in twice (authorization code), ends one session at the provider (RP-initiated logout); that session\'s tokens are refused on the other replica, the other session\'s pass', async (t) => {
  const { provider, b } = await logoutSetup(t, redis.env(), { client_ids: [BROWSER_CLIENT] })
  const laptop = await provider.signIn('hana')
  const phone = await provider.signIn('hana')
  t.not(laptop.sid, phone.sid, 'two sessions')
  const laptopToken = accessToken(provider, 'hana', laptop.sid)
  const phoneToken = accessToken(provider, 'hana', phone.sid)
  t.equal(await verifyStatus(b, laptopToken), 200)
  await laptop.endSession()
  t.ok(await until(async () => await verifyStatus(b, laptopToken) === 401, 2000, 5), 'the ended session\'s token is refused')
  t.equal(await verifyStatus(b, phoneToken), 200, 'the other session\'s still passes')
})
