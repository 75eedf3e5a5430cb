import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { Failures, type Failure } from '../errors.js'
import { sendFailure } from '../server/failure-reply.js'
import { setErrorBody } from '../ssf/set-errors.js'
import type { SetReceiver } from '../ssf/receiver.js'
import { MAX_SET_BYTES, type TransmitterKeyring } from '../ssf/set-verifier.js'
import { addressKey } from './rate-limits.js'

export interface SsfEventsOptions {
  readonly authPrefix: string
  readonly receiver: SetReceiver
  /** Transmitters with push delivery. */
  readonly pushers: readonly TransmitterKeyring[]
}

const SET_MEDIA_TYPE = 'application/secevent+jwt'

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/**
 * The transmitter whose configured Authorization value this is. Digests are compared, in
 * constant time, against every pusher: neither the value's length nor which entry matched
 * shows in the timing.
 */
function pusherOf (header: string | undefined, pushers: ReadonlyArray<{ keyring: TransmitterKeyring, digest: Buffer }>): TransmitterKeyring | null {
  if (header === undefined) return null
  const presented = digest(header)
  let found: TransmitterKeyring | null = null
  for (const pusher of pushers) if (timingSafeEqual(presented, pusher.digest) && found === null) found = pusher.keyring
  return found
}

/** RFC 8935 §2.3: `{ "err", "description" }`, never cached. */
function refuseSet (reply: FastifyReply, failure: Failure): FastifyReply {
  reply.code(failure.status).header('cache-control', 'no-store')
  if (failure.status === 401) reply.header('www-authenticate', 'Bearer realm="tokengate-ssf"')
  return reply.send(setErrorBody(failure))
}

/**
 * RFC 8935 push: `POST {AUTH_PREFIX}/ssf/events`, one SET as `application/secevent+jwt`,
 * from a transmitter authenticated by the Authorization value configured for it. 202 once
 * stored; 400/401/403 with the RFC's error codes; 503 (Retry-After) when whether the SET was
 * seen, or its revocation, cannot be stored now: the transmitter delivers it again.
 */
export const ssfEventsRoutes: FastifyPluginAsync<SsfEventsOptions> = async (app, { authPrefix, receiver, pushers }) => {
  const limits = app.rateLimits
  const known = pushers.map((keyring) => ({ keyring, digest: digest(keyring.config.push?.authorization ?? '') }))
  app.addContentTypeParser(SET_MEDIA_TYPE, { parseAs: 'string', bodyLimit: MAX_SET_BYTES }, (_request, body, done) => { done(null, body) })
  app.post<{ Body: string }>(`${authPrefix}/ssf/events`, { bodyLimit: MAX_SET_BYTES }, async (request, reply) => {
    const address = `${addressKey(request)}\nssf`
    if (!(await limits.clientAuthFailures.check(request, reply, address))) return reply
    const pusher = pusherOf(request.headers.authorization, known)
    if (pusher === null) {
      if (await limits.clientAuthFailures.hit(request, reply, address)) refuseSet(reply, Failures.SSF_AUTHENTICATION)
      return reply
    }
    const type = request.headers['content-type']?.split(';')[0].trim().toLowerCase()
    if (type !== SET_MEDIA_TYPE || typeof request.body !== 'string') return refuseSet(reply, Failures.SSF_SET_MALFORMED)
    const outcome = await receiver.receive(request.body.trim(), 'push', pusher)
    if (outcome.result === 'unavailable') return sendFailure(reply, outcome.failure)
    if (outcome.result === 'refused') return refuseSet(reply, outcome.failure)
    return reply.code(202).header('cache-control', 'no-store').send()
  })
}
