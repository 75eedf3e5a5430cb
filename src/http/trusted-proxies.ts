import proxyAddr from 'proxy-addr'

/** Whether the direct peer may speak for the original request through X-Forwarded-* / X-Original-*. */
export function createTrustCheck (trusted: readonly string[]): (address: string | undefined) => boolean {
  const trust = proxyAddr.compile([...trusted])
  return (address) => address !== undefined && trust(address, 0)
}
