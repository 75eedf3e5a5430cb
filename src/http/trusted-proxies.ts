import type { Socket } from 'node:net'
import proxyAddr from 'proxy-addr'

/**
 * Whether the direct peer may speak for the original request through
 * X-Forwarded-* / X-Original-*. Decided once per connection: a keep-alive
 * connection from nginx carries thousands of sub-requests.
 */
export function createTrustCheck (trusted: readonly string[]): (socket: Socket) => boolean {
  const trust = proxyAddr.compile([...trusted])
  const decided = new WeakMap<Socket, boolean>()
  return (socket) => {
    let trusted = decided.get(socket)
    if (trusted === undefined) {
      trusted = socket.remoteAddress !== undefined && trust(socket.remoteAddress, 0)
      decided.set(socket, trusted)
    }
    return trusted
  }
}
