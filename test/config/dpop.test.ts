import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { configProblems } from '../helpers/config.js'
import { SECRET } from '../helpers/tokens.js'

const BASE = { NODE_ENV: 'test', JWT_SECRET: SECRET }

t.test('RFC 9449 §4.3 check 5: DPOP_SIGNING_ALGS takes asymmetric algorithms only; none and HS256 stop start-up', async (t) => {
  const problems = configProblems({ ...BASE, DPOP: 'true', DPOP_SIGNING_ALGS: 'ES256,HS256,none' })
  t.match(problems, [/DPOP_SIGNING_ALGS: "HS256" is not an asymmetric JWS algorithm/, /DPOP_SIGNING_ALGS: "none" is not an asymmetric JWS algorithm/])
})

t.test('RFC 9449 §9: DPOP_NONCE=true needs a DPOP_NONCE_SECRET of 32 bytes shared by the replicas', async (t) => {
  t.match(configProblems({ ...BASE, DPOP: 'true', DPOP_NONCE: 'true' }), [/DPOP_NONCE_SECRET: required with DPOP_NONCE=true/])
  t.match(configProblems({ ...BASE, DPOP: 'true', DPOP_NONCE: 'true', DPOP_NONCE_SECRET: 'short' }), [/DPOP_NONCE_SECRET/])
})

t.test('DPOP_ORIGINS takes origins only; its default is RESOURCE_URL\'s origin', async (t) => {
  t.match(configProblems({ ...BASE, DPOP: 'true', DPOP_ORIGINS: 'https://api.example/path,ftp://x' }), [/DPOP_ORIGINS: "https:\/\/api.example\/path" is not an origin/, /DPOP_ORIGINS: "ftp:\/\/x" is not an origin/])
  const config = loadConfig({ ...BASE, DPOP: 'true', RESOURCE_URL: 'https://API.example:443/v1' })
  t.same(config.dpop?.origins, ['https://api.example'])
  t.equal(config.dpop?.maxAgeS, 60)
  t.equal(config.dpop?.forwardProof, false, 'the proof stays at the gateway by default')
})

t.test('RFC 9449 §11.1: DPOP=true needs the origins clients reach this API at (DPOP_ORIGINS or RESOURCE_URL), never a Host a client chooses', async (t) => {
  for (const origins of [{}, { DPOP_ORIGINS: '' }, { DPOP_ORIGINS: ' , ' }] as Array<Record<string, string>>) {
    t.match(configProblems({ ...BASE, DPOP: 'true', ...origins }), [/^DPOP_ORIGINS: required with DPOP=true \(or RESOURCE_URL\)/], JSON.stringify(origins))
  }
  t.same(configProblems({ ...BASE, DPOP: 'true', RESOURCE_URL: 'https://api.example/' }), [])
  t.same(configProblems({ ...BASE, DPOP: 'true', DPOP_ORIGINS: 'https://api.example' }), [])
  t.same(configProblems(BASE), [], 'DPoP off: nothing is asked')
})

t.test('DPOP_* without DPOP=true is a mistake named at start-up; DPoP is off by default', async (t) => {
  t.match(configProblems({ ...BASE, DPOP_NONCE: 'true', DPOP_NONCE_SECRET: 'x'.repeat(32) }), [/DPOP_NONCE: set without DPOP=true/])
  t.equal(loadConfig(BASE).dpop, null)
})
