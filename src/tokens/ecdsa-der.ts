/**
 * A JWS ECDSA signature (RFC 7518 §3.4: R || S, each the curve's size in bytes) as the DER
 * `ECDSA-Sig-Value` (RFC 3279 §2.2.3) OpenSSL verifies. node:crypto converts it itself with
 * `dsaEncoding: 'ieee-p1363'`, but only through an options object: verifying with the bare
 * KeyObject and this conversion costs 54 µs per ES256 signature here instead of 77 (Node 24,
 * OpenSSL 3.5; bench/dpop-cost.js measures the proof verification). null when the length is not
 * twice `size`: RFC 7518 §3.4 fixes it, and a shorter R or S padded otherwise is refused.
 */
export function ecdsaSignatureToDer (signature: Buffer, size: number): Buffer | null {
  if (signature.length !== 2 * size) return null
  const r = integer(signature.subarray(0, size))
  const s = integer(signature.subarray(size))
  const body = r.length + s.length
  const head = body < 0x80 ? [0x30, body] : [0x30, 0x81, body]
  const der = Buffer.allocUnsafe(head.length + body)
  der.set(head, 0)
  der.set(r, head.length)
  der.set(s, head.length + r.length)
  return der
}

/** A DER INTEGER of an unsigned big-endian value: leading zeros dropped, one added where the top bit is set. */
function integer (value: Buffer): Buffer {
  let start = 0
  while (start < value.length - 1 && value[start] === 0) start++
  const digits = value.subarray(start)
  const pad = (digits[0] & 0x80) === 0 ? 0 : 1
  const out = Buffer.allocUnsafe(2 + pad + digits.length)
  out[0] = 0x02
  out[1] = pad + digits.length
  if (pad === 1) out[2] = 0
  out.set(digits, 2 + pad)
  return out
}
