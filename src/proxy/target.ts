import { encodePath } from '../decision/paths.js'

/**
 * The request target sent upstream: UPSTREAM_URL's base path, the canonical
 * path that was authorised (`path`, never the client's own spelling of it),
 * re-encoded outside RFC 3986 `pchar` so that it decodes to exactly that
 * path, and the query string untouched; a fragment (never valid in a request
 * target) is dropped. `rawPath` is pathOf(url), the client's spelling.
 */
export function upstreamTarget (basePath: string, url: string, rawPath: string, path: string): string {
  const hash = url.indexOf('#', rawPath.length)
  const encoded = encodePath(path)
  if (rawPath === encoded && hash === -1) return basePath === '' ? url : basePath + url
  return basePath + encoded + (hash === -1 ? url.slice(rawPath.length) : url.slice(rawPath.length, hash))
}
