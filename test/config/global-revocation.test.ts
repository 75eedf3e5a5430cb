import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'

const IDP = { issuer: 'https://org.okta.example', discovery: true, audience: 'orders-api' }
const AS = { issuer: 'https://org.okta.example/oauth2/default', discovery: true, audience: 'orders-api' }
const ENDPOINT = 'https://api.example.com/auth/global-token-revocation'
const inline = (...entries: unknown[]): Record<string, string> => ({ NODE_ENV: 'test', JWT_ISSUERS: JSON.stringify(entries) })

t.test('global_token_revocation: audience, the issuers it revokes (itself by default), email mapping', async (t) => {
  const own = loadConfig(inline({ ...IDP, global_token_revocation: { audience: ENDPOINT } })).jwt.issuers[0].globalTokenRevocation
  t.same(own, { audience: ENDPOINT, algorithms: null, revokes: [IDP.issuer], emailIsSubject: false })
  const org = loadConfig(inline({ ...IDP, global_token_revocation: { audience: ENDPOINT, revokes: [AS.issuer], email_is_sub: true } }, AS)).jwt.issuers[0].globalTokenRevocation
  t.same(org?.revokes, [AS.issuer], 'an Okta org speaking for its custom authorization server\'s users')
  t.equal(org?.emailIsSubject, true)
})

t.test('a wrong global_token_revocation stops start-up naming the entry and the key', async (t) => {
  t.match(configProblems(inline({ ...IDP, global_token_revocation: { audience: ENDPOINT, revokes: ['https://unknown.example'] } })), [/^JWT_ISSUERS: \[0\]\.global_token_revocation\.revokes: "https:\/\/unknown\.example" is not an issuer of JWT_ISSUERS$/])
  t.match(configProblems(inline({ ...IDP, global_token_revocation: { audience: 'orders-api' } })), [/^JWT_ISSUERS: \[0\]\.global_token_revocation\.audience: "orders-api" is also an access-token audience/], 'an access token of the API must never authorise revoking users')
  t.match(configProblems(inline({ ...IDP, global_token_revocation: { aud: ENDPOINT } })).sort(), [/global_token_revocation\.aud: unknown key; expected some of audience, algorithms, revokes, email_is_sub$/, /global_token_revocation\.audience: required$/])
})
