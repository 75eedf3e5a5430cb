import fc from 'fast-check'
import t from 'tap'
import { createCertificateBinding } from '../../src/decision/certificate-binding.js'
import { headerThumbprint } from '../../src/decision/client-certificate.js'
import { Failures } from '../../src/errors.js'
import type { Claims } from '../../src/tokens/claims.js'
import { testPki } from '../helpers/certificates.js'

const claimsBound = (x5tS256: string): Claims => ({ cnf: { x5tS256 } }) as unknown as Claims

t.test('RFC 8705 §3.1: x5t#S256 is base64url(SHA-256(DER)) exactly; the same digest in hex, base64, padded or another case is another value', async () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constantFrom('hex', 'HEX', 'base64', 'padded', 'upper', 'lower', 'spaced'), (digest, spelling) => {
    const presented = Buffer.from(digest).toString('base64url')
    const spelled = {
      hex: Buffer.from(digest).toString('hex'),
      HEX: Buffer.from(digest).toString('hex').toUpperCase(),
      base64: Buffer.from(digest).toString('base64'),
      padded: `${presented}=`,
      upper: presented.toUpperCase(),
      lower: presented.toLowerCase(),
      spaced: ` ${presented}`
    }[spelling]
    fc.pre(spelled !== presented)
    const failures: string[] = []
    const binding = createCertificateBinding({ source: () => presented, requireSenderConstrained: false, failed: (reason) => failures.push(reason) })
    return binding(claimsBound(spelled), { headers: {} }) === Failures.CERTIFICATE_MISMATCH && failures.join() === 'certificate_mismatch' &&
      binding(claimsBound(presented), { headers: {} }) === null
  }), { numRuns: 300 })
})

t.test('RFC 9440 §2.2 with RFC 8941 §3.3.5: Client-Cert with or without "=" padding is the same certificate; other base64 is refused', async (t) => {
  const pki = testPki(t)
  const all = [pki.selfSigned('pad-a'), pki.selfSigned('pad-b'), pki.selfSigned('pad-c'), pki.selfSigned('pad-d'), pki.caSigned]
  // Padding exists when the DER's length is not a multiple of 3: about two in three certificates.
  const certs = all.filter((cert) => cert.derBase64.endsWith('='))
  t.ok(certs.length > 0, `${certs.length} of ${all.length} certificates padded`)
  fc.assert(fc.property(fc.constantFrom(...certs), fc.boolean(), (cert, unpadded) => {
    const b64 = unpadded ? cert.derBase64.replace(/=+$/, '') : cert.derBase64
    return headerThumbprint({ 'client-cert': `:${b64}:` }, 'rfc9440', 'success') === cert.thumbprint
  }), { numRuns: 50 })
  const garbled = fc.constantFrom('-', '_', '.', '===', ' =', '=A')
  fc.assert(fc.property(fc.constantFrom(...certs), garbled, fc.nat(), (cert, bad, at) => {
    const b64 = cert.derBase64.replace(/=+$/, '')
    const i = at % b64.length
    const answer = headerThumbprint({ 'client-cert': `:${b64.slice(0, i)}${bad}${b64.slice(i)}:` }, 'rfc9440', 'success')
    return answer !== cert.thumbprint && answer !== null
  }), { numRuns: 200 })
})
