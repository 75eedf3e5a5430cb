/**
 * The request target sent upstream: UPSTREAM_URL's base path, the normalised
 * path that was authorised (`path`, never the client's own spelling of it) and
 * the query string untouched; a fragment (never valid in a request target) is
 * dropped. `rawPath` is pathOf(url), the client's spelling.
 */
export function upstreamTarget (basePath: string, url: string, rawPath: string, path: string): string {
  const hash = url.indexOf('#', rawPath.length)
  if (rawPath === path && hash === -1) return basePath === '' ? url : basePath + url
  return basePath + path + (hash === -1 ? url.slice(rawPath.length) : url.slice(rawPath.length, hash))
}
