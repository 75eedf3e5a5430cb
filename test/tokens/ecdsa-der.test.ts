import { generateKeyPairSync, sign, verify } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { ecdsaSignatureToDer } from '../../src/tokens/ecdsa-der.js'

// RFC 7518 §3.4: an ECDSA JWS signature is R || S, each the curve's size; tokengate converts it
// to DER itself (cheaper than node:crypto's dsaEncoding option). Whatever the bytes, the verdict
// must be node:crypto's own for the same signature read as IEEE P1363.
const CURVES = [
  { alg: 'ES256', curve: 'P-256', hash: 'sha256', size: 32 },
  { alg: 'ES384', curve: 'P-384', hash: 'sha384', size: 48 },
  { alg: 'ES512', curve: 'P-521', hash: 'sha512', size: 66 }
] as const

for (const { alg, curve, hash, size } of CURVES) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve })
  const nodeVerdict = (data: Buffer, signature: Buffer): boolean => {
    try {
      return verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
    } catch {
      return false
    }
  }
  const ours = (data: Buffer, signature: Buffer): boolean => {
    const der = ecdsaSignatureToDer(signature, size)
    return der !== null && verify(hash, data, publicKey, der)
  }

  t.test(`${alg}: every genuine signature verifies, and any changed byte or length is refused as node:crypto refuses it`, async (t) => {
    fc.assert(fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.oneof(
        fc.constant({ kind: 'genuine' as const }),
        fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
        fc.record({ kind: fc.constant('resize' as const), by: fc.integer({ min: -3, max: 3 }).filter((n) => n !== 0) }),
        // R or S with leading zero bytes, or with the top bit set: the DER integers' edge cases.
        fc.record({ kind: fc.constant('edges' as const), zeros: fc.integer({ min: 0, max: size }), high: fc.boolean() })
      ),
      (bytes, change) => {
        const data = Buffer.from(bytes)
        const genuine = sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
        let signature = genuine
        if (change.kind === 'flip') {
          signature = Buffer.from(genuine)
          signature[change.at % signature.length]! ^= 1 << change.bit
        } else if (change.kind === 'resize') {
          signature = change.by > 0 ? Buffer.concat([genuine, Buffer.alloc(change.by)]) : genuine.subarray(0, genuine.length + change.by)
        } else if (change.kind === 'edges') {
          signature = Buffer.from(genuine)
          signature.fill(0, 0, change.zeros)
          if (change.high) signature[size] = signature[size]! | 0x80
        }
        const expected = nodeVerdict(data, signature)
        return ours(data, signature) === expected && (change.kind !== 'genuine' || expected)
      }
    ), { numRuns: 400 })
    t.pass('400 signatures: the same verdict as node:crypto')
  })

  t.test(`${alg}: R or S starting with a zero byte (one signature in 256) still verifies`, async (t) => {
    const data = Buffer.from('DPoP proof')
    for (const half of [0, size]) {
      let signature = sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
      for (let i = 0; signature[half] !== 0 && i < 5000; i++) signature = sign(hash, data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
      t.equal(signature[half], 0, `found one with a zero first byte of ${half === 0 ? 'R' : 'S'}`)
      t.ok(ours(data, signature))
    }
  })
}

t.test('a signature of the wrong length is no signature (RFC 7518 §3.4 fixes it)', async (t) => {
  t.equal(ecdsaSignatureToDer(Buffer.alloc(63), 32), null)
  t.equal(ecdsaSignatureToDer(Buffer.alloc(65), 32), null)
  t.equal(ecdsaSignatureToDer(Buffer.alloc(0), 32), null)
})
