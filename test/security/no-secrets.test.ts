import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { basic, call } from '../helpers/http.js'
import { startRedis } from '../helpers/redis.js'
import { sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { startReceiver } from './receiver.js'

function jtiOf (token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { jti: string }).jti
}

t.test('no token, signature or full jti appears in any log line, the audit file or the alerts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tokengate-secrets-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const auditFile = join(dir, 'audit.log')
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  const upstream = await startUpstream(t)
  const receiver = await startReceiver(t)
  const gw = await startGateway(t, {
    REDIS_URL: redis.url,
    UPSTREAM_URL: upstream.url,
    AUDIT_LOG_FILE: auditFile,
    ALERT_WEBHOOK_URL: receiver.url,
    INTROSPECTION_CLIENTS: 'rs:rs-secret-value-that-is-at-least-32-bytes',
    LOG_LEVEL: 'debug',
    RATE_LIMIT_ADMIN_PER_MIN: '0',
    ALERT_TOKEN_MAX_IPS: '1'
  })
  const tokens: string[] = []
  const mint = (claims: Record<string, unknown> = {}, key?: string): string => {
    const token = sign({ claims: { jti: `secret-jti-${tokens.length}-0123456789abcdef`, ...claims }, ...(key !== undefined && { key }) })
    tokens.push(token)
    return token
  }
  const adminToken = mint({ sub: 'ops-1', roles: ['admin'] })
  const at = (path: string): string => `${gw.url}${path}`

  const access = mint({ sub: 'alice', sid: 'alice-session' })
  const refresh = mint({ sub: 'alice', sid: 'alice-session', token_type: 'refresh' })
  await call(at('/auth/verify'), { token: access })
  await call(at('/auth/verify'), { token: access, headers: { 'x-forwarded-for': '198.51.100.9' } })
  await call(at('/auth/verify'), { token: mint({}, 'wrong-secret-that-is-at-least-32-bytes-long') })
  await call(at('/auth/verify'), { headers: { authorization: `Bearer ${access}x` } })
  await call(at('/auth/verify'), { headers: { authorization: `Basic ${access}` } })
  await call(at(`/accounts/1?access_token=${access}`), { token: access })
  await call(at('/accounts/1'), { token: mint({ sub: 'alice', token_type: 'refresh' }) })
  await call(at('/auth/token/validate'), { token: access })
  const rotated = await call(at('/auth/refresh'), { method: 'POST', json: { refresh_token: refresh } })
  tokens.push(rotated.body.access_token, rotated.body.refresh_token)
  await call(at('/auth/refresh'), { method: 'POST', json: { refresh_token: refresh } })
  await call(at('/auth/refresh'), { method: 'POST', form: { refresh_token: 'garbage.' + access } })
  await call(at('/auth/revoke'), { method: 'POST', token: mint({ sub: 'bob' }), json: { token: mint({ sub: 'bob' }) } })
  await call(at('/auth/revoke'), { method: 'POST', token: mint({ sub: 'bob' }), json: { token: mint({ sub: 'carol' }) } })
  await call(at('/auth/logout'), { method: 'POST', token: mint({ sub: 'dan' }), json: { refresh_token: mint({ sub: 'dan', token_type: 'refresh' }) } })
  await call(at('/auth/verify'), { token: access })
  await call(at('/oauth/introspect'), { method: 'POST', headers: { authorization: basic('rs', 'rs-secret-value-that-is-at-least-32-bytes') }, form: { token: mint({ sub: 'erin' }) } })
  await call(at('/oauth/revoke'), { method: 'POST', headers: { authorization: basic('rs', 'rs-secret-value-that-is-at-least-32-bytes') }, form: { token: mint({ sub: 'erin' }) } })
  await call(at('/oauth/introspect'), { method: 'POST', headers: { authorization: basic('rs', 'wrong') }, form: { token: mint() } })
  await call(at('/admin/tokens/revoke'), { method: 'POST', token: adminToken, json: { reason: 'test', token: mint({ sub: 'frank' }) } })
  await call(at('/admin/tokens/revoke'), { method: 'POST', token: adminToken, json: { reason: 'test', jti: jtiOf(mint()) } })
  await call(at('/admin/users/grace/revoke'), { method: 'POST', token: adminToken, json: { reason: 'test' } })
  for (const path of ['/admin/blacklist/status', '/admin/health', '/admin/alerts', '/admin/users/alice/activity', '/admin/audit/summary', '/metrics', '/readyz']) {
    await call(at(path), { token: adminToken })
  }
  await call(at('/admin/cleanup'), { method: 'POST', token: adminToken })
  await gw.app.tokengate.security.monitor.flush()
  const alerts = await call(at('/admin/alerts'), { token: adminToken })
  t.ok(alerts.body.count >= 2, `alerts were raised (${alerts.body.count})`)
  await gw.app.close()

  const audit = readFileSync(auditFile, 'utf8')
  t.ok(audit.split('\n').length > 8, 'the audit file was written')
  t.ok(gw.logs.length >= 3, `the gateway logged (${gw.logs.length} lines)`)
  const haystacks: Array<[string, string]> = [
    ['log', gw.logs.join('')], ['audit', audit], ['alerts', alerts.text], ['webhook', JSON.stringify(receiver.bodies)]
  ]
  for (const token of tokens) {
    const signature = token.split('.')[2]
    const jti = jtiOf(token)
    for (const [where, text] of haystacks) {
      t.notOk(text.includes(signature), `no token signature in the ${where}`)
      t.notOk(text.includes(jti), `no full jti in the ${where}`)
    }
  }
  t.notOk(gw.logs.join('').includes('rs-secret-value-that-is-at-least-32-bytes'), 'no client secret in the log')
})
