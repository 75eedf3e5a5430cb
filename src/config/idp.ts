import type { IdpConfig } from '../idp/options.js'
import type { EnvReader } from './env-reader.js'

const DAY_S = 86_400

/** The IDP_* and BACKCHANNEL_* variables: how revocations pushed by identity providers are kept until stored. */
export function readIdpConfig (r: EnvReader): IdpConfig {
  return {
    retryQueueSize: r.int('IDP_RETRY_QUEUE_SIZE', 10_000, { min: 1, max: 1_000_000 }),
    retryMaxAgeMs: r.durationS('IDP_RETRY_MAX_AGE', 3600, { min: 1, max: DAY_S }) * 1000,
    logoutMaxAgeS: r.durationS('BACKCHANNEL_LOGOUT_MAX_AGE', 300, { min: 10, max: DAY_S }),
    relayTimeoutMs: r.int('BACKCHANNEL_RELAY_TIMEOUT_MS', 2000, { min: 100, max: 30_000 })
  }
}
