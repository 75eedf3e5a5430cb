import t from 'tap'
import fc from 'fast-check'
import type { IncomingHttpHeaders } from 'node:http'
import { Failures, isFailure, withDescription } from '../../src/errors.js'
import { originalRequest } from '../../src/decision/original-request.js'
import { canonicalConfiguredPath, canonicalPath } from '../../src/decision/paths.js'

// Callers (forward-auth, the proxy, config) tell a refusal from a result with
// isFailure alone: every refusal these functions return must be a registry member.

const segment = fc.oneof(fc.constantFrom('a', 'é', '%2e', '%2F', '%41', '..', '', ';x', '%C3%A9', '%zz', 'K', '\\'), fc.string({ maxLength: 4 }))
const uri = fc.oneof(
  fc.array(segment, { maxLength: 4 }).map((parts) => '/' + parts.join('/')),
  fc.constantFrom('/a?_method=DELETE', 'http://other/x', '/a b', '//a', '/a#f', '*')
)
const headerValue = fc.option(fc.oneof(uri, fc.array(uri, { minLength: 2, maxLength: 2 })), { nil: undefined })
const method = fc.option(fc.oneof(fc.constantFrom('GET', 'post', 'DELETE', 'G E T', ''), fc.array(fc.constantFrom('GET', 'PUT'), { minLength: 2, maxLength: 2 })), { nil: undefined })

t.test('originalRequest returns null, an original request, or a failure isFailure recognises', async (t) => {
  fc.assert(fc.property(headerValue, headerValue, method, method, (forwardedUri, originalUri, forwardedMethod, originalMethod) => {
    const headers: IncomingHttpHeaders = {}
    if (forwardedUri !== undefined) headers['x-forwarded-uri'] = forwardedUri
    if (originalUri !== undefined) headers['x-original-uri'] = originalUri
    if (forwardedMethod !== undefined) headers['x-forwarded-method'] = forwardedMethod
    if (originalMethod !== undefined) headers['x-original-method'] = originalMethod
    const result = originalRequest(headers, true)
    if (result === null || isFailure(result)) return true
    return typeof result.path === 'string' && typeof result.method === 'string' && !('code' in result)
  }), { numRuns: 2000 })
  t.ok(isFailure(originalRequest({ 'x-original-uri': '/a', 'x-forwarded-uri': '/b' }, true)), 'a conflict between the two conventions')
  t.equal(originalRequest({ 'x-original-uri': ['/a', '/a'] }, true), Failures.ORIGINAL_CONFLICT, 'a repeated header')
})

t.test('the path functions return a string or a failure isFailure recognises', async () => {
  fc.assert(fc.property(uri, (path) => {
    const decided = canonicalPath(path.startsWith('/') ? path : '/' + path)
    const configured = canonicalConfiguredPath(path)
    return (typeof decided === 'string') !== isFailure(decided) && (typeof configured === 'string') !== isFailure(configured)
  }), { numRuns: 2000 })
})

t.test('a failure with a request-specific description is still recognised', async (t) => {
  const described = withDescription(Failures.BAD_REQUEST, '"since" must be a date')
  t.ok(isFailure(described))
  t.equal(described.code, Failures.BAD_REQUEST.code)
  t.notOk(isFailure({ ...Failures.BAD_REQUEST }), 'a look-alike of the same shape is not')
})
