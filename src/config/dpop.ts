import type { DpopConfig } from '../decision/dpop-check.js'
import { normalisedOrigin } from '../decision/dpop-htu.js'
import { ASYMMETRIC_ALGORITHMS, type AsymmetricAlgorithm } from '../tokens/algorithms.js'
import type { EnvReader } from './env-reader.js'

// Every replica derives the same nonces from it (dpop-nonce.ts): as long as an HMAC key.
const MIN_NONCE_SECRET_BYTES = 32

function readAlgorithms (r: EnvReader): AsymmetricAlgorithm[] {
  if (!r.has('DPOP_SIGNING_ALGS')) return ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519']
  const asymmetric: ReadonlySet<string> = new Set(ASYMMETRIC_ALGORITHMS)
  const algorithms = r.list('DPOP_SIGNING_ALGS')
  for (const alg of algorithms) {
    // RFC 9449 §4.3 check 5: an asymmetric algorithm; none and HS* are never a proof's.
    if (!asymmetric.has(alg)) r.fail('DPOP_SIGNING_ALGS', `"${alg}" is not an asymmetric JWS algorithm (${ASYMMETRIC_ALGORITHMS.join(', ')})`)
  }
  if (algorithms.length === 0) r.fail('DPOP_SIGNING_ALGS', 'names no algorithm')
  return algorithms.filter((alg): alg is AsymmetricAlgorithm => asymmetric.has(alg))
}

function readOrigins (r: EnvReader, resourceUrl: string | null): string[] {
  if (!r.has('DPOP_ORIGINS')) {
    // RESOURCE_URL's own problems are reported by resource.ts.
    const origin = resourceUrl === null || !URL.canParse(resourceUrl) ? null : normalisedOrigin(new URL(resourceUrl).origin)
    return origin === null ? [] : [origin]
  }
  return r.list('DPOP_ORIGINS').flatMap((text) => {
    const origin = normalisedOrigin(text)
    if (origin === null) r.fail('DPOP_ORIGINS', `"${text}" is not an origin such as https://api.example.com (http or https, a host, an optional port, no path)`)
    return origin === null ? [] : [origin]
  })
}

/** DPOP and its DPOP_* variables (docs/dpop.md); null when DPOP is off. */
export function readDpop (r: EnvReader, resourceUrl: string | null): DpopConfig | null {
  const enabled = r.oneOf('DPOP', ['true', 'false'], 'false') === 'true'
  const nonce = r.oneOf('DPOP_NONCE', ['true', 'false'], 'false') === 'true'
  const nonceSecret = r.optionalString('DPOP_NONCE_SECRET')
  const config: DpopConfig = {
    algorithms: readAlgorithms(r),
    maxAgeS: r.int('DPOP_PROOF_MAX_AGE_S', 60, { min: 1, max: 600 }),
    origins: readOrigins(r, resourceUrl),
    nonceSecret: nonce ? nonceSecret : null,
    forwardProof: r.oneOf('DPOP_FORWARD_PROOF', ['true', 'false'], 'false') === 'true'
  }
  if (nonce && (nonceSecret === null || Buffer.byteLength(nonceSecret) < MIN_NONCE_SECRET_BYTES)) {
    r.fail('DPOP_NONCE_SECRET', `required with DPOP_NONCE=true: at least ${MIN_NONCE_SECRET_BYTES} bytes, the same on every replica`)
  }
  // RFC 9449 §11.1: a proof is bound to one server's URI. Taking its origin from a proxy that passes
  // on the client's Host (nginx's server_name _ with $http_host) would let a proof made for another
  // API that trusts the same key pass here: the origins are this API's own, configured.
  if (enabled && config.origins.length === 0 && r.list('DPOP_ORIGINS').length === 0) {
    r.fail('DPOP_ORIGINS', 'required with DPOP=true (or RESOURCE_URL): the origins clients reach this API at, such as https://api.example.com; a proof\'s htu must name one, and no client-chosen Host can add one')
  }
  if (!enabled) {
    for (const name of ['DPOP_SIGNING_ALGS', 'DPOP_PROOF_MAX_AGE_S', 'DPOP_ORIGINS', 'DPOP_NONCE', 'DPOP_FORWARD_PROOF']) {
      if (r.has(name)) r.fail(name, 'set without DPOP=true')
    }
    return null
  }
  return config
}
