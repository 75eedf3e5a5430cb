import type { Socket } from 'node:net'
import proxyAddr from 'proxy-addr'

/** TRUSTED_PROXIES compiled once, for every reader: Fastify's request.ip, forward-auth, the proxy. */
export interface TrustedProxies {
  /** proxy-addr's trust function: whether `address`, `hop` steps away, is a trusted proxy. */
  readonly address: (address: string, hop: number) => boolean
  /**
   * Whether the direct peer may speak for the original request through
   * X-Forwarded-* / X-Original-*. Decided once per connection: a keep-alive
   * connection from nginx carries thousands of sub-requests.
   */
  readonly peer: (socket: Socket) => boolean
}

export function compileTrustedProxies (trusted: readonly string[]): TrustedProxies {
  const address = proxyAddr.compile([...trusted])
  const decided = new WeakMap<Socket, boolean>()
  return {
    address,
    peer (socket) {
      let trusted = decided.get(socket)
      if (trusted === undefined) {
        trusted = socket.remoteAddress !== undefined && address(socket.remoteAddress, 0)
        decided.set(socket, trusted)
      }
      return trusted
    }
  }
}
