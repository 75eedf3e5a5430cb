import { request } from 'undici'

export type RelayResult = 'delivered' | 'failed' | 'timeout'

/**
 * A client has one back-channel logout URI at its provider, and tokengate holds
 * it: the application behind learns of the logout through its own URI, to which
 * each validated logout token is POSTed on as the provider sent it (§2.5: a
 * form with `logout_token`). Bounded by `timeoutMs`; the result never changes
 * tokengate's answer to the provider, which has already been decided.
 */
export async function relayLogoutToken (uri: Readonly<URL>, logoutToken: string, timeoutMs: number): Promise<RelayResult> {
  try {
    const res = await request(uri.href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'cache-control': 'no-store' },
      body: new URLSearchParams({ logout_token: logoutToken }).toString(),
      signal: AbortSignal.timeout(timeoutMs)
    })
    await res.body.dump()
    return res.statusCode >= 200 && res.statusCode < 300 ? 'delivered' : 'failed'
  } catch (err) {
    const name = (err as { name?: unknown } | null)?.name
    return name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'failed'
  }
}
