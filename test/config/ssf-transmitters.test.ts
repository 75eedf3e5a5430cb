import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { SSF_TRANSMITTERS_SCHEMA } from '../../src/config/ssf-transmitters-schema.js'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'
import { tempFile } from '../helpers/temp-dir.js'

const IDP = 'https://idp.example.com/'
const SECRET_HEADER = 'Bearer push-secret-that-is-long-enough-0123456789'
const BASE = { JWT_ISSUERS: JSON.stringify([{ issuer: IDP, jwks_uri: 'https://idp.example.com/jwks', audience: 'api' }]) }
const OKTA = {
  issuer: 'https://idp.example.com',
  metadata: true,
  audience: 'https://gw.example.com/ssf',
  delivery: { push: { authorization: SECRET_HEADER, endpoint_url: 'https://gw.example.com/auth/ssf/events' } },
  authorization: { client_credentials: { token_endpoint: 'https://idp.example.com/oauth2/v1/token', client_id: 'gw', client_secret: 'cs', scope: 'okta.ssf.manage' } },
  stream: { manage: true }
}
const env = (...entries: unknown[]): Record<string, string> => ({ ...BASE, SSF_TRANSMITTERS: JSON.stringify(entries) })

t.test('SSF_TRANSMITTERS: an entry with SSF metadata, push and stream management (SSF 1.0 §6.2.1, §7.1)', async (t) => {
  const { ssf } = loadConfig(env(OKTA))
  const [entry] = ssf?.transmitters ?? []
  t.equal(entry.metadataUrl?.href, 'https://idp.example.com/.well-known/ssf-configuration', 'SSF 1.0 §6.2.1: well-known inserted after the host')
  t.equal(entry.jwksUrl, null, 'read from the metadata')
  t.same(entry.algorithms, ['RS256', 'ES256'], 'asymmetric defaults')
  t.equal(entry.revokes, IDP, 'the one trusted issuer, by default')
  t.equal(entry.sessionClaim, 'sid', 'the issuer\'s session claim')
  t.same(entry.userFormats, ['iss_sub', 'opaque'], 'email is not the sub unless said so')
  t.same(entry.subjectIssuers, [IDP, 'https://idp.example.com'])
  t.equal(entry.push?.authorization, SECRET_HEADER)
  t.equal(entry.auth.kind, 'client_credentials')
  t.equal(ssf?.replayWindowS, 7 * 86_400, 'SSF_REPLAY_WINDOW default: 7 days')
})

// The algorithm list is src/tokens/algorithms.ts's, as JWT_ISSUERS's (it missed Ed25519, RFC 9864 §2.2).
t.test('SSF_TRANSMITTERS algorithms: every asymmetric one, never a MAC or none', async (t) => {
  t.same(loadConfig(env({ ...OKTA, algorithms: ['Ed25519', 'PS512'] })).ssf?.transmitters[0].algorithms, ['Ed25519', 'PS512'])
  for (const alg of ['HS256', 'none']) t.throws(() => loadConfig(env({ ...OKTA, algorithms: [alg] })), /SSF_TRANSMITTERS/, alg)
})

t.test('SSF_TRANSMITTERS from a YAML file', async (t) => {
  const path = tempFile(t, 'transmitters.yaml', stringify([{ issuer: 'https://tx.example.com', jwks_uri: 'https://tx.example.com/jwks', audience: ['a', 'b'], delivery: { poll: { endpoint: 'https://tx.example.com/poll', wait_s: 0 } }, authorization: { bearer: 'poll-token' } }]))
  const [entry] = loadConfig({ ...BASE, SSF_TRANSMITTERS: path }).ssf?.transmitters ?? []
  t.same(entry.audiences, ['a', 'b'])
  t.equal(entry.poll?.endpoint?.href, 'https://tx.example.com/poll')
  t.equal(entry.poll?.waitS, 0)
  t.equal(entry.auth.kind, 'bearer')
})

t.test('every problem of SSF_TRANSMITTERS is named at once, secrets never echoed', async (t) => {
  const problems = configProblems(env(
    { issuer: 'http://tx.example.com', audience: 'x', delivery: {}, extra: 1 },
    { issuer: 'https://tx2.example.com', jwks_uri: 'https://tx2.example.com/jwks', audience: 'x', delivery: { push: { authorization: 'short-secret' } }, revokes: 'https://other.example.com/' },
    { issuer: 'https://tx3.example.com', audience: 'x', delivery: { poll: {} } }
  )).join('\n')
  t.match(problems, /SSF_TRANSMITTERS: \[0\]\.extra: unknown key/)
  t.match(problems, /SSF_TRANSMITTERS: \[1\]\.delivery\.push\.authorization: shorter than 32 characters/)
  t.notMatch(problems, /short-secret/, 'the push secret is never echoed')
  t.match(problems, /\[1\]\.revokes: "https:\/\/other\.example\.com\/" is not a trusted issuer/)
  t.match(problems, /\[2\]: needs jwks_uri or metadata/)
  t.match(problems, /\[2\]\.delivery\.poll\.endpoint: required unless stream\.manage/)
})

t.test('a transmitter must name the issuer it revokes when several are trusted', async (t) => {
  const issuers = [{ issuer: IDP, jwks_uri: 'https://idp.example.com/jwks', audience: 'api' }, { issuer: 'https://partner.example.com/', jwks_uri: 'https://partner.example.com/jwks', audience: 'api' }]
  const problems = configProblems({ JWT_ISSUERS: JSON.stringify(issuers), SSF_TRANSMITTERS: JSON.stringify([{ ...OKTA }]) })
  t.match(problems.join('\n'), /\[0\]\.revokes: required: several issuers are trusted/)
})

t.test('stream management needs the metadata, and a push endpoint to give the transmitter', async (t) => {
  const problems = configProblems(env({ ...OKTA, metadata: false, jwks_uri: 'https://idp.example.com/jwks', delivery: { push: { authorization: SECRET_HEADER } } })).join('\n')
  t.match(problems, /\[0\]\.stream\.manage: needs metadata/)
  t.match(problems, /\[0\]\.delivery\.push\.endpoint_url: required with stream\.manage/)
})

t.test('a poll endpoint comes from a managed stream only when that stream is a poll stream', async (t) => {
  const both = { ...OKTA, delivery: { ...OKTA.delivery, poll: {} } }
  t.match(configProblems(env(both)).join('\n'), /\[0\]\.delivery\.poll\.endpoint: required unless stream\.manage takes it from the stream \(a poll stream/)
  t.same(configProblems(env({ ...OKTA, delivery: { poll: {} } })), [], 'poll alone, managed: the stream names it')
})

t.test('SSF_REPLAY_WINDOW is a duration with its unit', async (t) => {
  t.equal(loadConfig({ ...env(OKTA), SSF_REPLAY_WINDOW: '30d' }).ssf?.replayWindowS, 30 * 86_400)
  t.match(configProblems({ ...env(OKTA), SSF_REPLAY_WINDOW: '5' }).join('\n'), /SSF_REPLAY_WINDOW/)
})

t.test('docs/ssf-transmitters.schema.json is the schema the configuration validates with', async (t) => {
  const published = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/ssf-transmitters.schema.json'), 'utf8'))
  t.same(published, SSF_TRANSMITTERS_SCHEMA)
})
