import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'

const ENTRY = { issuer: 'https://sso.example.com/realms/customers', discovery: true, audience: 'orders-api' }
const inline = (entry: Record<string, unknown>, env: Record<string, string> = {}): Record<string, string> => ({ NODE_ENV: 'test', JWT_ISSUERS: JSON.stringify([{ ...ENTRY, ...entry }]), ...env })

t.test('backchannel_logout in a JWT_ISSUERS entry: client ids, relay and algorithms', async (t) => {
  const { jwt } = loadConfig(inline({ backchannel_logout: { client_ids: ['web', 'mobile'], relay_uri: 'https://app.internal/logout', algorithms: ['ES256'] } }))
  const logout = jwt.issuers[0].backchannelLogout
  t.same(logout?.clientIds, ['web', 'mobile'])
  t.equal(logout?.relayUri?.href, 'https://app.internal/logout')
  t.same(logout?.algorithms, ['ES256'])
  t.equal(loadConfig(inline({})).jwt.issuers[0].backchannelLogout, null, 'absent: no logout tokens accepted from it')
  t.equal(loadConfig(inline({ backchannel_logout: { client_ids: ['web'] } })).jwt.issuers[0].backchannelLogout?.algorithms, null, 'algorithms default to the metadata\'s')
})

t.test('a wrong backchannel_logout stops start-up naming JWT_ISSUERS, the entry and the key', async (t) => {
  t.match(configProblems(inline({ backchannel_logout: { client_ids: [] } })), [/^JWT_ISSUERS: \[0\]\.backchannel_logout\.client_ids: must NOT have fewer than 1 items/])
  t.match(configProblems(inline({ backchannel_logout: { client_id: 'web' } })).sort(), [
    /^JWT_ISSUERS: \[0\]\.backchannel_logout\.client_id: unknown key; expected some of client_ids, relay_uri, algorithms$/,
    /^JWT_ISSUERS: \[0\]\.backchannel_logout\.client_ids: required$/
  ])
  t.match(configProblems(inline({ backchannel_logout: { client_ids: ['web'], algorithms: ['HS256'] } })), [/backchannel_logout\.algorithms\[0\]: must be one of RS256/], 'never a MAC: logout tokens are verified with published keys')
  t.match(configProblems(inline({ backchannel_logout: { client_ids: ['web'], relay_uri: 'http://app.internal/logout' } })), [/^JWT_ISSUERS: \[0\]\.backchannel_logout\.relay_uri: http: is not accepted/], 'the relay carries logout tokens: https outside development')
})

t.test('BACKCHANNEL_LOGOUT_CLIENT_IDS: the single issuer, with its JWKS; not alongside JWT_ISSUERS', async (t) => {
  const single = { NODE_ENV: 'test', JWT_SECRET: '', JWT_ALGORITHMS: 'RS256', JWKS_URL: 'https://idp.example.com/keys', JWT_ISSUER: 'https://idp.example.com' }
  t.same(loadConfig({ ...single, BACKCHANNEL_LOGOUT_CLIENT_IDS: 'web, mobile' }).jwt.issuers[0].backchannelLogout, { clientIds: ['web', 'mobile'], relayUri: null, algorithms: null })
  t.match(configProblems({ NODE_ENV: 'test', JWT_SECRET: 'a-secret-that-is-at-least-32-bytes-long', BACKCHANNEL_LOGOUT_CLIENT_IDS: 'web' }), [/^BACKCHANNEL_LOGOUT_CLIENT_IDS: needs JWT_ISSUER and JWKS_URL/])
  t.match(configProblems(inline({}, { BACKCHANNEL_LOGOUT_CLIENT_IDS: 'web' })).join('\n'), /JWT_ISSUERS: set together with BACKCHANNEL_LOGOUT_CLIENT_IDS/)
})

t.test('BACKCHANNEL_LOGOUT_MAX_AGE, BACKCHANNEL_RELAY_TIMEOUT_MS, IDP_RETRY_*: defaults and bounds', async (t) => {
  const { idp } = loadConfig(inline({}))
  t.same(idp, { retryQueueSize: 10_000, retryMaxAgeMs: 3_600_000, logoutMaxAgeS: 300, relayTimeoutMs: 2000 })
  t.match(configProblems(inline({}, { BACKCHANNEL_LOGOUT_MAX_AGE: '1s', IDP_RETRY_QUEUE_SIZE: '0' })).sort(), [/^BACKCHANNEL_LOGOUT_MAX_AGE: /, /^IDP_RETRY_QUEUE_SIZE: /])
})
