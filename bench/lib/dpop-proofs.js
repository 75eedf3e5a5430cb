// DPoP proofs (RFC 9449 §4.2) as a client makes them, for the benches: one ES256 key, a fresh
// jti per proof. Signing costs ~30-40 µs, so an HTTP run's proofs are made before it starts, in
// worker threads (proof-worker.js), never by the load generator while it measures.
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A client's proof key: the private key as PKCS#8 PEM (for workers) and its RFC 7638 thumbprint (the token's cnf.jkt). */
export function proofKey () {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const jkt = createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest('base64url')
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), jwk, jkt }
}

/** A function making one fresh proof of `key` for (htm, htu) bound to `token` (ath). */
export function proofMaker ({ pem, jwk }, { htm, htu, token }) {
  const privateKey = createPrivateKey(pem)
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })
  const ath = createHash('sha256').update(token).digest('base64url')
  return () => {
    const input = `${header}.${b64({ jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ath })}`
    return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
  }
}

/** `count` fresh proofs, made by worker threads (one per core). */
export async function mintProofs (key, target, count) {
  const threads = Math.max(1, availableParallelism())
  const share = Math.ceil(count / threads)
  const shares = Array.from({ length: threads }, (_, i) => Math.min(share, count - i * share)).filter((n) => n > 0)
  const parts = await Promise.all(shares.map((share) => new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./proof-worker.js', import.meta.url), { workerData: { key, target, count: share } })
    worker.once('message', resolve)
    worker.once('error', reject)
  })))
  return parts.flat()
}
