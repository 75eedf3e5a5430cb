import { ALGORITHMS } from './tokens.js'

/**
 * Every throughput scenario, in the order one round runs them: each subject
 * sits next to its baseline, and odd rounds run the list backwards so that
 * drift on a shared machine hits both sides of a pair alike.
 *
 * server: key into the servers started by run.js; auth: 'warm' (one token
 * repeated), 'cold' (a distinct token per request) or null; tokensOf: send the
 * cold tokens of that scenario (a stateless baseline: they stay unseen by
 * tokengate); alsoAgainst: a second baseline and target; countRedis: count the
 * Redis commands of the measured run (INFO commandstats).
 */
export function scenarioList ({ nginx }) {
  const list = [{ id: 'ceiling: bare Fastify empty 200', key: 'bare', server: 'bare', path: '/', auth: null }]
  for (const alg of ALGORITHMS) {
    const warmTarget = alg === 'HS256' ? 0.85 : 0.8
    list.push({ id: `verify ${alg} warm`, key: `verify-${alg}-warm`, server: `tg-${alg}`, path: '/auth/verify', auth: 'warm', alg, baseline: 'bare', target: warmTarget })
    // Issue 12: a cold decision against the same verification alone (>= 0.90) and against bare Fastify
    // (HS256 >= 0.70); the baseline verifies the very tokens the cold run sends, in its own process.
    list.push({ id: `baseline: Fastify + fast-jwt ${alg} verify, cache off`, key: `verify-${alg}-baseline`, server: `verify-${alg}`, path: '/auth/verify', auth: 'cold', alg, tokensOf: `verify-${alg}-cold`, baseline: 'bare' })
    list.push({ id: `verify ${alg} cold`, key: `verify-${alg}-cold`, server: `tg-${alg}`, path: '/auth/verify', auth: 'cold', alg, baseline: `verify-${alg}-baseline`, target: 0.9, alsoAgainst: { baseline: 'bare', target: alg === 'HS256' ? 0.7 : null }, countRedis: true })
  }
  list.push({ id: `verify HS256 cold, WORKERS=${WORKERS}`, key: 'verify-HS256-cold-workers', server: 'tg-HS256-workers', path: '/auth/verify', auth: 'cold', alg: 'HS256', baseline: 'bare', countRedis: true })
  list.push({ id: 'direct to upstream', key: 'direct', server: 'upstream', path: '/api/items', auth: null })
  if (nginx) list.push({ id: 'proxy: nginx', key: 'proxy-nginx', server: 'nginx-proxy', path: '/api/items', auth: null, baseline: 'direct' })
  list.push({ id: 'proxy: Fastify + reply-from, no auth', key: 'proxy-reply-from', server: 'reply-from', path: '/api/items', auth: null, baseline: nginx ? 'proxy-nginx' : 'direct' })
  list.push({ id: 'proxy: tokengate HS256', key: 'proxy-tokengate', server: 'tg-proxy', path: '/api/items', auth: 'warm', alg: 'HS256', baseline: nginx ? 'proxy-nginx' : 'proxy-reply-from', target: nginx ? 0.5 : 1 })
  list.push({ id: `proxy: tokengate HS256, WORKERS=${WORKERS}`, key: 'proxy-tokengate-workers', server: 'tg-proxy-workers', path: '/api/items', auth: 'warm', alg: 'HS256', baseline: nginx ? 'proxy-nginx' : 'proxy-reply-from' })
  // Added latency is read at a fixed, unsaturated rate over one connection: at full load, or with
  // connections firing together, p99 is queueing behind other requests, not the hop itself.
  list.push({ id: `direct to upstream @ ${FIXED_RATE}/s`, key: 'direct-fixed', server: 'upstream', path: '/api/items', auth: null, rate: FIXED_RATE, connections: FIXED_CONNECTIONS })
  list.push({ id: `proxy: tokengate HS256 @ ${FIXED_RATE}/s`, key: 'proxy-tokengate-fixed', server: 'tg-proxy', path: '/api/items', auth: 'warm', alg: 'HS256', rate: FIXED_RATE, connections: FIXED_CONNECTIONS })
  if (nginx) {
    list.push({ id: 'nginx auth_request -> bare Fastify', key: 'auth-request-bare', server: 'nginx-auth-bare', path: '/api/items', auth: 'warm', alg: 'HS256' })
    list.push({ id: 'nginx auth_request -> tokengate', key: 'auth-request-tokengate', server: 'nginx-auth-tokengate', path: '/api/items', auth: 'warm', alg: 'HS256', baseline: 'auth-request-bare', target: 0.9 })
  }
  return list
}

/** Worker processes of the WORKERS scenarios (node:cluster). */
export const WORKERS = 2
/** The fixed-rate latency pair: one request at a time, well under every server's capacity here. */
export const FIXED_RATE = 1000
const FIXED_CONNECTIONS = 1

/**
 * Requests per second a cold run is expected to reach; sizes the token pools (a run ends early when
 * its pool is empty). The fast-jwt baselines send the same tokens and run faster: sized for them.
 */
export const COLD_RPS_ESTIMATE = { HS256: 30_000, RS256: 12_000, ES256: 8_000, EdDSA: 8_000 }
