import fc from 'fast-check'
import t from 'tap'
import { DpopNonces, NONCE_STEP_S } from '../../src/decision/dpop-nonce.js'

const SECRET = 'dpop-nonce-secret-at-least-32-bytes-long!'
const STEP_MS = NONCE_STEP_S * 1000

t.test('RFC 9449 §9: a nonce is accepted in its own step and the next, by every replica holding the secret; never before it, never later', async () => {
  fc.assert(fc.property(fc.integer({ min: 1_000_000, max: 1e9 }), fc.integer({ min: -3, max: 4 }), fc.nat(STEP_MS - 1), (step, later, within) => {
    const issuedAt = step * STEP_MS + within
    const nonce = new DpopNonces(SECRET, () => issuedAt).current()
    const checkedAt = (step + later) * STEP_MS + ((within * 7) % STEP_MS)
    const accepted = new DpopNonces(SECRET, () => checkedAt).valid(nonce)
    return accepted === (later === 0 || later === 1)
  }), { numRuns: 500 })
})

t.test('RFC 9449 §9: a nonce of another secret, another spelling of its step, or an altered MAC is refused', async () => {
  const now = 1_765_000_000_000
  const nonces = new DpopNonces(SECRET, () => now)
  const nonce = nonces.current()
  const [step, mac] = nonce.split('.')
  t.equal(nonces.valid(nonce), true)
  t.equal(new DpopNonces('another-secret-of-at-least-32-bytes-long', () => now).valid(nonce), false, 'another secret')
  for (const spelled of [`0${step}`, step.toUpperCase(), `+${step}`, ` ${step}`, `${step} `]) {
    t.equal(nonces.valid(`${spelled}.${mac}`), false, `step spelled "${spelled}"`)
  }
  fc.assert(fc.property(fc.nat(mac.length - 1), fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), (at, c) => {
    fc.pre(mac[at] !== c)
    return !nonces.valid(`${step}.${mac.slice(0, at)}${c}${mac.slice(at + 1)}`)
  }), { numRuns: 300 })
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (text) => text === nonce || !nonces.valid(text)), { numRuns: 1000 })
})
