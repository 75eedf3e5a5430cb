import { createVerifier } from 'fast-jwt'
import t from 'tap'
import type { Claims } from '../../src/tokens/claims.js'
import { createIssuer } from '../../src/tokens/issuer.js'
import { rotationWindow, sessionStartOf } from '../../src/tokens/rotation.js'
import { SECRET } from '../helpers/tokens.js'

const DAY_S = 86_400
const T0_MS = Date.UTC(2026, 0, 1)

/** An issuer whose clock the test moves; `decode` reads tokens back on the same clock. */
function clockedIssuer (): { issuer: ReturnType<typeof createIssuer>, advance: (seconds: number) => void, nowS: () => number, decode: (token: string) => Claims } {
  let nowMs = T0_MS
  const issuer = createIssuer({ algorithm: 'HS256', key: SECRET, kid: null }, null, null, null, () => nowMs)
  return {
    issuer,
    advance: (seconds) => { nowMs += seconds * 1000 },
    nowS: () => Math.floor(nowMs / 1000),
    decode: (token) => createVerifier({ key: SECRET, clockTimestamp: nowMs })(token) as Claims
  }
}

t.test('issue 11 item 5: a session rotated every day ends SESSION_MAX_LIFETIME after its login, whatever the rotations', async (t) => {
  const { issuer, advance, nowS, decode } = clockedIssuer()
  const limits = { refreshTokenTtlS: 7 * DAY_S, sessionMaxLifetimeS: 30 * DAY_S }
  const login = issuer.mint({ sub: 'u1', ttlS: limits.refreshTokenTtlS, sid: 's', refresh: true, claims: { roles: ['user'] } })
  let current = decode(login.token)
  const loginAt = current.iat
  let rotations = 0
  for (;;) {
    advance(DAY_S)
    const window = rotationWindow(current, nowS(), limits)
    if (window === null) break
    const next = decode(issuer.mint({ sub: 'u1', ttlS: limits.refreshTokenTtlS, sid: 's', refresh: true, claims: { ...current, auth_time: window.sessionStart }, notAfter: window.refreshNotAfter }).token)
    t.equal(next.auth_time, loginAt, `rotation ${rotations + 1} carries the login time`)
    t.ok(next.exp <= loginAt + limits.sessionMaxLifetimeS, `rotation ${rotations + 1} ends by the session end`)
    t.ok(next.exp <= current.exp + limits.refreshTokenTtlS, 'never outlives the token it replaces by more than the refresh lifetime')
    t.same(next.roles, ['user'], 'roles are those of the login')
    current = next
    rotations++
  }
  t.equal(rotations, 29, 'daily rotations until day 30, then a new login is needed')
  t.equal(nowS(), loginAt + 30 * DAY_S)
})

t.test('the session start is auth_time, else iat, and never later than the token itself', async (t) => {
  const base = { sub: 'u', jti: 'j', iat: 1000, exp: 5000 }
  t.equal(sessionStartOf(base), 1000, 'first token of a session: its iat')
  t.equal(sessionStartOf({ ...base, auth_time: 400 }), 400)
  t.equal(sessionStartOf({ ...base, auth_time: 9000 }), 1000, 'an auth_time after iat cannot extend the session')
  t.equal(sessionStartOf({ ...base, auth_time: '400' }), 1000, 'a non-numeric auth_time is ignored')
})

t.test('a rotation is cut to the session end, and to the old token\'s exp plus the refresh lifetime', async (t) => {
  const limits = { refreshTokenTtlS: 100, sessionMaxLifetimeS: 1000 }
  const old = { sub: 'u', jti: 'j', iat: 0, exp: 50 }
  t.same(rotationWindow(old, 960, limits), { sessionStart: 0, sessionEnd: 1000, refreshNotAfter: 150 }, 'the old exp (within clock tolerance) bounds the new one')
  t.same(rotationWindow({ ...old, exp: 990 }, 960, limits), { sessionStart: 0, sessionEnd: 1000, refreshNotAfter: 1000 }, 'the session end bounds it')
  t.equal(rotationWindow(old, 1000, limits), null, 'at the end, no rotation')
})

t.test('mint cuts exp to notAfter and reports iat and exp', async (t) => {
  const { issuer, nowS } = clockedIssuer()
  const minted = issuer.mint({ sub: 'u', ttlS: 900, notAfter: nowS() + 60 })
  t.equal(minted.iat, nowS())
  t.equal(minted.exp, nowS() + 60)
  t.equal(issuer.mint({ sub: 'u', ttlS: 900 }).exp, nowS() + 900)
})
