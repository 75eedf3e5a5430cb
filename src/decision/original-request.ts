import type { IncomingHttpHeaders } from 'node:http'
import { Failures, isFailure, type Failure } from '../errors.js'
import { canonicalPath } from './paths.js'
import { hasQueryOverride } from './query-override.js'

export interface OriginalRequest {
  readonly method: string
  /** Canonical (canonicalPath): anything that is not canonical was refused. */
  readonly path: string
}

const CONFLICT = Symbol('conflict')
// Node joins a repeated header into "a, b": a real request target has no ASCII
// whitespace (raw UTF-8 arrives as latin1: U+00A0 is the second byte of `à`, not a space).
const PATH = /^\/[^\0- \x7f]*$/
const METHOD = /^[A-Za-z]{1,20}$/

/** One value from two header conventions; repeated or disagreeing values are a conflict. */
function pick (a: string | string[] | undefined, b: string | string[] | undefined): string | undefined | typeof CONFLICT {
  if (Array.isArray(a) || Array.isArray(b)) return CONFLICT
  if (a !== undefined && b !== undefined && a !== b) return CONFLICT
  return a ?? b
}

/**
 * The request a forward-auth sub-request stands for: Traefik sends
 * X-Forwarded-Method/-Uri, nginx (by convention) X-Original-Method/-URI. Only a
 * trusted proxy is believed; from anyone else these headers are ignored, so a
 * client cannot turn a private path into a public one. Both conventions are
 * read, and they must agree: nginx passes a client's own X-Forwarded-Uri
 * through to the auth request unless told not to, and Traefik a client's
 * X-Original-URI, so preferring either one would let a client choose the path.
 *
 * The decision is made on the canonical path (canonicalPath: every escape
 * decoded, as most upstreams decode before routing). The proxy forwards the URI
 * as the client sent it, so a spelling is accepted only when a raw-routing
 * upstream (Express) and a decoding one (Werkzeug) cannot route it apart:
 * escapes of characters that change no structure (`%3A`, `%40`, `%C3%A9`, what
 * encodeURIComponent writes) are; repeated slashes (merged by nginx and
 * Werkzeug, not by Express) and whatever canonicalPath refuses are not.
 */
/** Null when there is no original request to decide on; a registry Failure (isFailure) when it is refused. */
export function originalRequest (headers: IncomingHttpHeaders, trusted: boolean): OriginalRequest | null | Failure {
  if (!trusted) return null
  const uri = pick(headers['x-forwarded-uri'], headers['x-original-uri'])
  if (uri === undefined) return null
  if (uri === CONFLICT || !PATH.test(uri)) return Failures.ORIGINAL_CONFLICT
  if (hasQueryOverride(uri)) return Failures.METHOD_OVERRIDE
  const method = pick(headers['x-forwarded-method'], headers['x-original-method'])
  if (method === CONFLICT || (method !== undefined && !METHOD.test(method))) return Failures.ORIGINAL_CONFLICT
  const q = uri.search(/[?#]/)
  const raw = q === -1 ? uri : uri.slice(0, q)
  const path = canonicalPath(raw)
  if (isFailure(path)) return path
  if (raw.includes('//')) return Failures.PATH_NOT_NORMAL
  return { method: method === undefined ? 'GET' : method.toUpperCase(), path }
}
