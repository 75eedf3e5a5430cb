import type { RedisConfig } from '../redis/redis-client.js'
import type { SsfConfig, TransmitterConfig } from './options.js'
import { OutboundAuthorization } from './outbound-auth.js'
import { LocalLease, RedisLease, type Lease } from './lease.js'
import { Poller, type PollerReport } from './poller.js'
import { SetReceiver, type Enforce, type ReceiverReport, type SetReplayGuard } from './receiver.js'
import type { TransmitterKeyring } from './set-verifier.js'
import { manageStream, type StreamResult, type StreamState } from './stream.js'
import { TransmitterKeys } from './transmitter-keys.js'
import { readTransmitterMetadata, type TransmitterMetadata } from './transmitter-metadata.js'

interface Logger {
  warn: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

/** A verification SET against the state tokengate asked for: `unsolicited` when it asked for none. */
export type VerificationResult = 'matched' | 'unexpected_state' | 'unsolicited'

export interface SsfReport extends Omit<ReceiverReport, 'verification'>, PollerReport {
  verified: (transmitter: TransmitterConfig, result: VerificationResult) => void
  stream: (transmitter: TransmitterConfig, result: StreamResult) => void
  metadata: (transmitter: TransmitterConfig, ok: boolean) => void
}

export interface SsfServiceOptions {
  readonly config: SsfConfig
  readonly clockToleranceS: number
  /** JWKS_COOLDOWN_S, as for the trusted issuers' key sets. */
  readonly jwksCooldownMs: number
  readonly redis: RedisConfig | null
  readonly guard: SetReplayGuard
  readonly enforce: Enforce
  readonly report: SsfReport
  readonly log: Logger
  /** How often a poller takes or renews its lease (the lease lives three times this); 5 s by default. */
  readonly leaseRenewMs?: number
  /** How long a replica that does not manage a stream waits for it to appear (30 s). */
  readonly streamWaitMs?: number
}

/** Replicas starting within this of the one that managed a stream read it instead of managing it again. */
const STREAM_LEASE_MS = 60_000

/** One configured transmitter at run time. */
class Transmitter implements TransmitterKeyring {
  readonly config: TransmitterConfig
  readonly keys: TransmitterKeys
  readonly auth: OutboundAuthorization
  readonly issuer: string
  readonly algorithms: TransmitterConfig['algorithms']
  metadata: TransmitterMetadata | null = null
  stream: StreamState | null = null

  constructor (config: TransmitterConfig, keys: TransmitterKeys, auth: OutboundAuthorization) {
    this.config = config
    this.keys = keys
    this.auth = auth
    this.issuer = config.issuer
    this.algorithms = config.algorithms
  }

  get pollEndpoint (): Readonly<URL> | null {
    return this.config.poll?.endpoint ?? this.stream?.pollEndpoint ?? null
  }
}

/**
 * The Shared Signals receiver: each transmitter's metadata and keys read at start-up, the
 * receiver shared by push and poll, one poller per transmitter with poll delivery (active on
 * the replica holding its lease), and its stream created or checked in the background.
 * A transmitter that cannot be reached at start-up is logged and counted, never fatal; one
 * whose metadata names another issuer is refused the same way and verifies nothing.
 */
export class SsfService {
  readonly receiver: SetReceiver
  readonly #transmitters: readonly Transmitter[]
  readonly #pollers: Poller[] = []
  readonly #options: SsfServiceOptions
  #managing: Promise<void> | null = null

  private constructor (options: SsfServiceOptions, transmitters: readonly Transmitter[]) {
    this.#options = options
    this.#transmitters = transmitters
    this.receiver = new SetReceiver({
      transmitters,
      guard: options.guard,
      enforce: options.enforce,
      report: { ...options.report, verification: (transmitter, state) => { options.report.verified(transmitter, this.#verification(transmitter.issuer, state)) } },
      replayWindowS: options.config.replayWindowS,
      clockToleranceS: options.clockToleranceS
    })
  }

  /** Reads metadata and keys (side by side); never throws for an unreachable transmitter. */
  static async start (options: SsfServiceOptions): Promise<SsfService> {
    const { config, log, report } = options
    const transmitters = await Promise.all(config.transmitters.map(async (entry) => {
      const auth = new OutboundAuthorization(entry.auth, config.requestTimeoutMs)
      const metadataUrl = entry.metadataUrl
      // Null when unreadable: logged, counted; its SETs are refused (invalid_key) and alerted meanwhile.
      const readMetadata = async (): Promise<TransmitterMetadata | null> => {
        if (metadataUrl === null) return null
        try {
          const read = await readTransmitterMetadata(entry.issuer, metadataUrl, config.requestTimeoutMs, config.allowHttp)
          report.metadata(entry, true)
          return read
        } catch (err) {
          report.metadata(entry, false)
          log.error({ transmitter: entry.issuer, err: (err as Error).message }, 'SSF transmitter metadata unusable: its SETs cannot be verified until it is read (again on the next SET, within JWKS_COOLDOWN_S)')
          return null
        }
      }
      const metadata = await readMetadata()
      const jwksUrl = entry.jwksUrl ?? metadata?.jwksUrl ?? null
      let transmitter: Transmitter | null = null
      // A transmitter unreadable at start: the next SET that needs its keys reads its metadata again.
      const locate = jwksUrl !== null || metadataUrl === null
        ? null
        : async (): Promise<URL | null> => {
          const again = await readMetadata()
          if (transmitter !== null && again !== null) transmitter.metadata = again
          return again?.jwksUrl ?? null
        }
      const keys = new TransmitterKeys(jwksUrl, { transmitter: entry.issuer, algorithms: entry.algorithms, cooldownMs: options.jwksCooldownMs, timeoutMs: config.requestTimeoutMs }, log, locate)
      if (jwksUrl !== null) await keys.refresh()
      transmitter = new Transmitter(entry, keys, auth)
      transmitter.metadata = metadata
      return transmitter
    }))
    return new SsfService(options, transmitters)
  }

  /** Transmitters with push delivery, for the push route. */
  get pushers (): readonly TransmitterKeyring[] {
    return this.#transmitters.filter((transmitter) => transmitter.config.push !== null)
  }

  /** Stream management (in the background: the push route must be listening for verification) and the pollers. */
  run (): void {
    const { config, redis, log, report } = this.#options
    this.#managing = Promise.all(this.#transmitters.map(async (transmitter) => {
      if (!transmitter.config.stream.manage || transmitter.metadata === null) return
      // Held for its whole lifetime, never released: replicas starting within it read the stream instead.
      const lease: Lease = redis === null
        ? new LocalLease()
        : new RedisLease(redis, `stream\n${transmitter.config.issuer}`, STREAM_LEASE_MS, log, 'SSF stream lease')
      const state = await manageStream({
        config: transmitter.config,
        metadata: transmitter.metadata,
        auth: transmitter.auth,
        timeoutMs: config.requestTimeoutMs,
        manager: async () => await lease.hold(),
        waitMs: this.#options.streamWaitMs
      })
      await lease.close({ release: false })
      transmitter.stream = state
      report.stream(transmitter.config, state.result)
      const fields = { transmitter: transmitter.config.issuer, stream: state.streamId, result: state.result, problem: state.problem }
      if (state.result === 'failed' || state.problem !== null) log.warn(fields, 'SSF stream management: the stream is not as tokengate needs it')
      else log.info(fields, 'SSF stream ready')
    })).then(() => {})
    const renewMs = this.#options.leaseRenewMs ?? 5000
    for (const transmitter of this.#transmitters) {
      if (transmitter.config.poll === null) continue
      const lease: Lease = redis === null
        ? new LocalLease()
        : new RedisLease(redis, transmitter.config.issuer, renewMs * 3, log, 'SSF poll lease')
      const poller = new Poller({ keyring: transmitter, endpoint: () => transmitter.pollEndpoint, auth: transmitter.auth, lease, receiver: this.receiver, timeoutMs: config.requestTimeoutMs, renewMs, report, log })
      poller.start()
      this.#pollers.push(poller)
    }
  }

  /** Resolves once every managed stream was created or checked (tests, start-up logs). */
  async streamsManaged (): Promise<void> {
    await this.#managing
  }

  /**
   * SSF 1.0 §8.1.4.2: the transmitter echoes the state tokengate sent. Another replica may have
   * asked too (each manages the stream at start), so a state unknown here is reported, not refused.
   */
  #verification (issuer: string, state: string | null): VerificationResult {
    const asked = this.#transmitters.find((transmitter) => transmitter.config.issuer === issuer)?.stream?.verificationState ?? null
    if (asked === null) return 'unsolicited'
    return state === asked ? 'matched' : 'unexpected_state'
  }

  /** How many transmitters this replica polls now (holds the lease of). */
  get polling (): number {
    return this.#pollers.filter((poller) => poller.leader).length
  }

  async close (): Promise<void> {
    await Promise.all(this.#pollers.map(async (poller) => await poller.close()))
  }
}
