import t, { type Test } from 'tap'
import { Failures, GatewayError } from '../../src/errors.js'
import { ANY_ISSUER, IssuerScope } from '../../src/revocation/issuer-scope.js'

// Issue 18 item 3: the issuer is required where a user's id is ambiguous, and must be a trusted one.
const A = 'https://a.example'
const B = 'https://b.example'
const scope = (...issuers: Array<string | null>): IssuerScope => new IssuerScope(issuers.map((issuer) => ({ issuer })))

function refusal (t: Test, run: () => unknown, failure: { reason: string }, message: string): void {
  let thrown: unknown = null
  try { run() } catch (err) { thrown = err }
  t.ok(thrown instanceof GatewayError && thrown.failure.reason === failure.reason, message)
}

t.test('a user named for a revocation (target) and for a look-up (subject)', async (t) => {
  t.equal(scope(A).target(undefined), A, 'one trusted issuer: it is implied')
  t.equal(scope(A).subject(undefined), A)
  t.equal(scope(A, B).target(B), B)
  t.equal(scope(A, B).subject(A), A)
  refusal(t, () => scope(A, B).target(undefined), Failures.ISSUER_REQUIRED, 'several issuers: a revocation must name one')
  refusal(t, () => scope(A, B).subject(undefined), Failures.ISSUER_REQUIRED, 'and so must a look-up')
  refusal(t, () => scope(A, B).subject('https://c.example'), Failures.ISSUER_UNKNOWN, 'an issuer not trusted is refused')
  t.equal(scope(null).target(undefined), ANY_ISSUER, 'no issuer configured: a revocation covers every issuer')
  t.equal(scope(null).subject(undefined), '', 'while a look-up reads the tokens without iss')
  t.equal(scope(null).subject('anything'), 'anything', 'iss is unchecked then: any issuer may be looked up')
})

t.test('revoke-all names one issuer or explicitly all of them', async (t) => {
  t.equal(scope(A, B).everyone(A, false), A)
  t.equal(scope(A, B).everyone(undefined, true), ANY_ISSUER)
  refusal(t, () => scope(A, B).everyone(A, true), Failures.ISSUER_CONFLICT, 'one issuer and all of them')
  refusal(t, () => scope(A, B).everyone(undefined, false), Failures.ISSUER_REQUIRED, 'neither')
})
