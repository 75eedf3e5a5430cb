/**
 * Whether a path (already past the ambiguity check) can be sent upstream as
 * given: origin-form only (an absolute-form target such as
 * `http://other.host/x` would name another host), and percent-escapes that
 * decode, so that the upstream cannot read a different path than the one
 * authorised.
 */
export function isForwardable (path: string): boolean {
  if (path.charCodeAt(0) !== 47 /* / */) return false
  if (!path.includes('%')) return true
  try {
    decodeURIComponent(path)
    return true
  } catch {
    return false
  }
}

/**
 * The request target sent upstream: UPSTREAM_URL's base path, the request path
 * and its query string untouched; a fragment (never valid in a request target)
 * is dropped. `path` is pathOf(url), computed once per request.
 */
export function upstreamTarget (basePath: string, url: string, path: string): string {
  const hash = url.indexOf('#', path.length)
  const rest = hash === -1 ? url : url.slice(0, hash)
  return basePath === '' ? rest : basePath + rest
}
