/** What src/idp/ is built from; `src/config/idp.ts` maps the IDP_* variables (and JWT_ISSUERS entries) onto it. */
export interface IdpConfig {
  /** IDP_RETRY_QUEUE_SIZE: revocations enforced here whose write waits for the store, at most. */
  readonly retryQueueSize: number
  /** IDP_RETRY_MAX_AGE: a queued write not stored within this is dropped, with a CRITICAL alert. */
  readonly retryMaxAgeMs: number
  /** BACKCHANNEL_LOGOUT_MAX_AGE: a logout token issued longer ago than this is refused. */
  readonly logoutMaxAgeS: number
  /** BACKCHANNEL_RELAY_TIMEOUT_MS: how long relaying a logout token to the application may take. */
  readonly relayTimeoutMs: number
}
