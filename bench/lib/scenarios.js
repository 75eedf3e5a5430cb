import { ALGORITHMS } from './tokens.js'

/**
 * Every throughput scenario, in the order one round runs them: each subject
 * sits next to its baseline, and odd rounds run the list backwards so that
 * drift on a shared machine hits both sides of a pair alike.
 *
 * server: key into the servers started by run.js; auth: 'warm' (one token
 * repeated), 'cold' (a distinct token per request) or null.
 */
export function scenarioList ({ nginx }) {
  const list = [{ id: 'ceiling: bare Fastify empty 200', key: 'bare', server: 'bare', path: '/', auth: null }]
  for (const alg of ALGORITHMS) {
    const warmTarget = alg === 'HS256' ? 0.85 : 0.8
    list.push({ id: `verify ${alg} warm`, key: `verify-${alg}-warm`, server: `tg-${alg}`, path: '/auth/verify', auth: 'warm', alg, baseline: 'bare', target: warmTarget })
    list.push({ id: `verify ${alg} cold`, key: `verify-${alg}-cold`, server: `tg-${alg}`, path: '/auth/verify', auth: 'cold', alg, baseline: 'bare', target: alg === 'HS256' ? 0.5 : null })
  }
  list.push({ id: 'direct to upstream', key: 'direct', server: 'upstream', path: '/api/items', auth: null })
  if (nginx) list.push({ id: 'proxy: nginx', key: 'proxy-nginx', server: 'nginx-proxy', path: '/api/items', auth: null, baseline: 'direct' })
  list.push({ id: 'proxy: Fastify + reply-from, no auth', key: 'proxy-reply-from', server: 'reply-from', path: '/api/items', auth: null, baseline: nginx ? 'proxy-nginx' : 'direct' })
  list.push({ id: 'proxy: tokengate HS256', key: 'proxy-tokengate', server: 'tg-proxy', path: '/api/items', auth: 'warm', alg: 'HS256', baseline: nginx ? 'proxy-nginx' : 'proxy-reply-from', target: nginx ? 0.5 : 1 })
  if (nginx) {
    list.push({ id: 'nginx auth_request -> bare Fastify', key: 'auth-request-bare', server: 'nginx-auth-bare', path: '/api/items', auth: 'warm', alg: 'HS256' })
    list.push({ id: 'nginx auth_request -> tokengate', key: 'auth-request-tokengate', server: 'nginx-auth-tokengate', path: '/api/items', auth: 'warm', alg: 'HS256', baseline: 'auth-request-bare', target: 0.9 })
  }
  return list
}

/** Requests per second a cold run is expected to reach; sizes the token pools (a run ends early when its pool is empty). */
export const COLD_RPS_ESTIMATE = { HS256: 12_000, RS256: 4_000, ES256: 6_000, EdDSA: 8_000 }
