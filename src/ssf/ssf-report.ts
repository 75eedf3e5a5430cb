import type { Failure } from '../errors.js'
import type { GatewayMetrics } from '../metrics/metrics.js'
import type { MonitoringSink } from '../security/monitoring-sink.js'
import { issuerKey } from '../security/sink.js'
import type { TransmitterConfig } from './options.js'
import type { Delivery, SetOutcome } from './receiver.js'
import type { SsfReport } from './ssf-service.js'

interface Logger { warn: (obj: object, msg: string) => void, info: (obj: object, msg: string) => void }

const SOURCE: Readonly<Record<Delivery, string>> = { push: 'ssf_push', poll: 'ssf_poll' }

/** The tokengate_idp_messages_total result of a SET: accepted, queued (503), duplicate, ignored, verification, or the refusal's reason. */
function resultOf (outcome: SetOutcome): string {
  switch (outcome.result) {
    case 'refused': return outcome.failure.reason
    case 'unavailable': return 'queued'
    case 'applied': return 'accepted'
    default: return outcome.result
  }
}

/**
 * Where the receiver's outcomes go: tokengate_idp_messages_total and the tokengate_ssf_*
 * families, a log line per refusal (never the SET), and the alerts: `invalid_idp_message` for
 * an invalid SET from a configured transmitter, `ssf_subject_unmapped` for a subject that maps
 * onto nothing; each once per transmitter and reason per hour, as the monitor deduplicates.
 */
export function ssfReport (metrics: GatewayMetrics, security: MonitoringSink, log: Logger): SsfReport {
  return {
    set (delivery: Delivery, outcome: SetOutcome, transmitter: TransmitterConfig | null) {
      metrics.idpMessages.inc({ source: SOURCE[delivery], result: resultOf(outcome) })
      if (outcome.result === 'refused') {
        log.warn({ source: SOURCE[delivery], transmitter: transmitter?.issuer ?? null, code: outcome.failure.code, why: outcome.failure.description, jti: outcome.jti?.slice(0, 8) ?? null }, 'SSF: security event token refused')
      }
    },
    event (delivery, event, outcome) {
      metrics.ssfEvents.inc({ delivery, event, outcome })
    },
    refusedFromTransmitter (transmitter: TransmitterConfig, failure: Failure, jti: string | null) {
      const unmapped = failure.code === 'TG_ERR_SSF_SUBJECT_UNMAPPED'
      const detail = `transmitter "${transmitter.issuer}" (revoking for "${transmitter.revokes}"): ${failure.description}`
      security.monitor.raise(unmapped ? 'ssf_subject_unmapped' : 'invalid_idp_message', issuerKey(transmitter.issuer, failure.reason), { iss: transmitter.issuer, jti, detail }).catch(() => {})
    },
    verified (transmitter, result) {
      metrics.ssfVerifications.inc({ result })
      log.info({ transmitter: transmitter.issuer, result }, 'SSF verification event received')
    },
    poll (_transmitter, result) {
      metrics.ssfPolls.inc({ result })
    },
    leader () {},
    stream (_transmitter, result) {
      metrics.ssfStreams.inc({ result })
    },
    metadata (_transmitter, ok) {
      metrics.ssfMetadata.inc({ result: ok ? 'ok' : 'failed' })
    }
  }
}
