import { ALGORITHMS } from './tokens.js'

/**
 * Every scenario, in the order one round runs them (rounds repeat the list:
 * A, B, A, B ...), each subject next to its baseline.
 *
 * server: key into the servers run.js starts (SERVERS below); cpu: the servers
 * whose CPU is the scenario's (default: the server); auth: 'warm' (one token
 * repeated), 'cold' (a distinct token per request) or null; tokensOf: send the
 * cold tokens of that scenario (a stateless baseline: they stay unseen by
 * tokengate); rate/connections: a paced run; countRedis: count the Redis
 * commands of the measured run (INFO commandstats).
 */
export function scenarioList ({ nginx }) {
  const list = [
    { id: 'bare node:http empty 200', key: 'node-http', server: 'node-http', path: '/', auth: null },
    { id: 'bare Fastify empty 200', key: 'bare', server: 'bare', path: '/', auth: null }
  ]
  for (const alg of ALGORITHMS) {
    list.push({ id: `fast-jwt ${alg} cold (Fastify, cache off)`, key: `jwt-${alg}-cold`, server: `verify-${alg}`, path: '/auth/verify', auth: 'cold', alg, tokensOf: `tg-${alg}-cold` })
    list.push({ id: `tokengate ${alg} cold`, key: `tg-${alg}-cold`, server: `tg-${alg}`, path: '/auth/verify', auth: 'cold', alg, countRedis: true })
    list.push({ id: `fast-jwt ${alg} warm (Fastify, fast-jwt cache)`, key: `jwt-${alg}-warm`, server: `verify-${alg}`, path: '/cached/verify', auth: 'warm', alg })
    list.push({ id: `tokengate ${alg} warm`, key: `tg-${alg}-warm`, server: `tg-${alg}`, path: '/auth/verify', auth: 'warm', alg })
  }
  // The CPU cost of OpenTelemetry traces, beside the same warm decision with traces off (tg-HS256-warm).
  for (const [key, ratio] of Object.entries(TRACE_RATIOS)) {
    list.push({ id: `tokengate HS256 warm, traces ${ratio * 100} %`, key: `tg-HS256-warm-${key}`, server: `tg-HS256-${key}`, path: '/auth/verify', auth: 'warm', alg: 'HS256' })
  }
  list.push({ id: 'direct to upstream', key: 'direct', server: 'upstream', path: '/api/items', auth: null })
  if (nginx) list.push({ id: 'proxy: nginx', key: 'proxy-nginx', server: 'nginx-proxy', path: '/api/items', auth: null })
  list.push({ id: 'proxy: Fastify + reply-from, no auth', key: 'proxy-reply-from', server: 'reply-from', path: '/api/items', auth: null })
  list.push({ id: 'proxy: tokengate HS256 warm', key: 'proxy-tokengate', server: 'tg-proxy', path: '/api/items', auth: 'warm', alg: 'HS256' })
  // The same warm token, DPoP-bound: a fresh ES256 proof per request, its jti claimed in Redis.
  list.push({ id: 'proxy: tokengate HS256 warm, DPoP ES256', key: 'proxy-tokengate-dpop', server: 'tg-proxy-dpop', path: '/api/items', auth: 'dpop', alg: 'HS256' })
  // Added latency is read at a fixed, unsaturated rate over one connection: at full load, or with
  // connections firing together, p99 is queueing behind other requests, not the hop itself.
  list.push({ id: `direct to upstream @ ${FIXED_RATE}/s`, key: 'direct-fixed', server: 'upstream', path: '/api/items', auth: null, rate: FIXED_RATE, connections: FIXED_CONNECTIONS })
  list.push({ id: `proxy: tokengate HS256 @ ${FIXED_RATE}/s`, key: 'proxy-tokengate-fixed', server: 'tg-proxy', path: '/api/items', auth: 'warm', alg: 'HS256', rate: FIXED_RATE, connections: FIXED_CONNECTIONS })
  if (nginx) {
    list.push({ id: 'nginx auth_request -> bare Fastify', key: 'auth-request-bare', server: 'nginx-auth-bare', cpu: ['nginx-auth-bare', 'bare'], path: '/api/items', auth: 'warm', alg: 'HS256' })
    list.push({ id: 'nginx auth_request -> tokengate', key: 'auth-request-tokengate', server: 'nginx-auth-tokengate', cpu: ['nginx-auth-tokengate', 'tg-HS256'], path: '/api/items', auth: 'warm', alg: 'HS256' })
  }
  return list
}

/**
 * The budgets of ../shared/design.md as pairs: subject against baseline, in CPU
 * per request (baseline µs / subject µs) and in throughput (subject / baseline),
 * both from the same round and then the median over rounds.
 */
export function comparisonList ({ nginx }) {
  const list = [{ id: 'bare Fastify vs bare node:http', subject: 'bare', baseline: 'node-http', target: null }]
  for (const alg of ALGORITHMS) {
    list.push({ id: `cold ${alg}: tokengate vs fast-jwt`, subject: `tg-${alg}-cold`, baseline: `jwt-${alg}-cold`, target: 0.9 })
    list.push({ id: `warm ${alg}: tokengate vs bare Fastify`, subject: `tg-${alg}-warm`, baseline: 'bare', target: 0.85 })
  }
  for (const [key, ratio] of Object.entries(TRACE_RATIOS)) {
    list.push({ id: `warm HS256: traces ${ratio * 100} % vs traces off`, subject: `tg-HS256-warm-${key}`, baseline: 'tg-HS256-warm', target: null })
  }
  for (const alg of ALGORITHMS) list.push({ id: `fast-jwt ${alg} cold vs bare Fastify`, subject: `jwt-${alg}-cold`, baseline: 'bare', target: null })
  for (const alg of ALGORITHMS) list.push({ id: `fast-jwt ${alg} warm vs bare Fastify`, subject: `jwt-${alg}-warm`, baseline: 'bare', target: null })
  if (nginx) list.push({ id: 'proxy: tokengate vs nginx', subject: 'proxy-tokengate', baseline: 'proxy-nginx', target: 0.5 })
  list.push({ id: 'proxy: tokengate vs reply-from', subject: 'proxy-tokengate', baseline: 'proxy-reply-from', target: 1 })
  list.push({ id: 'proxy: DPoP-bound vs bearer (tokengate)', subject: 'proxy-tokengate-dpop', baseline: 'proxy-tokengate', target: null })
  if (nginx) {
    list.push({ id: 'proxy: reply-from vs nginx', subject: 'proxy-reply-from', baseline: 'proxy-nginx', target: null })
    list.push({ id: 'auth_request: tokengate vs bare Fastify', subject: 'auth-request-tokengate', baseline: 'auth-request-bare', target: 0.9 })
  }
  return list
}

/** OpenTelemetry sampling ratios measured (OTEL_TRACES_SAMPLER=parentbased_traceidratio, an OTLP sink that discards). */
export const TRACE_RATIOS = { trace1: 0.01, trace100: 1 }

/** The fixed-rate latency pair: one request at a time, well under every server's capacity here. */
export const FIXED_RATE = 1000
const FIXED_CONNECTIONS = 1

/**
 * Requests per second a cold run is expected to reach on one pinned core;
 * sizes the token stock (a run ends early, and says so, when its share is
 * used up). Set for the fast-jwt baselines, which send the same tokens and run
 * faster.
 */
export const COLD_RPS_ESTIMATE = { HS256: 28_000, RS256: 12_000, ES256: 9_000, EdDSA: 10_000 }

/** Requests per second of the DPoP scenario (one ES256 proof verification each): sizes its proofs, made per round and phase. */
export const DPOP_RPS_ESTIMATE = 9_000

/** Where the DPoP scenario's proofs say they are sent (DPOP_ORIGINS of its tokengate). */
export const DPOP_ORIGIN = 'https://api.example'

/** Where each process runs: the measured server alone on one core, the load generator on the other. */
export const CORES = { server: 1, load: 0 }
