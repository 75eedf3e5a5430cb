/** The path part of a request target, without query or fragment. */
export function pathOf (url: string): string {
  const q = url.indexOf('?')
  const h = url.indexOf('#')
  const end = q === -1 ? (h === -1 ? url.length : h) : (h === -1 ? q : Math.min(q, h))
  return url.slice(0, end)
}

// Dot segments (also "..;", which Tomcat and Spring read as ".."), encoded
// dots or separators and backslashes: servers disagree on what they mean,
// which is exactly how a private path is passed off as public.
const AMBIGUOUS = /(?:^|\/)\.{1,2}(?:[/;]|%3b|$)|%2e|%2f|%5c|\\|%00/i

export function isAmbiguousPath (path: string): boolean {
  return AMBIGUOUS.test(path)
}

/** Whole-segment prefix match: `/public` covers `/public` and `/public/x`, never `/publicity`. */
export function underPrefix (path: string, prefix: string): boolean {
  if (prefix === '/') return true
  return path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */)
}

/** Collapses repeated slashes, for rules that must also catch `//admin`. */
export function collapseSlashes (path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path
}
