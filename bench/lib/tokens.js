import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { createSigner } from 'fast-jwt'

export const ALGORITHMS = ['HS256', 'RS256', 'ES256', 'EdDSA']

const PAIRS = {
  RS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  EdDSA: ['ed25519', {}]
}

/**
 * Key material for one algorithm: the signing key for the bench and the
 * environment that makes a tokengate process accept it (PEMs written to `dir`).
 */
export function keyFor (algorithm, dir) {
  if (algorithm === 'HS256') {
    const secret = randomBytes(48).toString('base64url')
    return { algorithm, signingKey: secret, env: { JWT_SECRET: secret, JWT_ALGORITHMS: 'HS256' } }
  }
  const [type, options] = PAIRS[algorithm]
  const { publicKey, privateKey } = generateKeyPairSync(type, options)
  const file = join(dir, `${algorithm}.pub.pem`)
  writeFileSync(file, publicKey.export({ type: 'spki', format: 'pem' }))
  return {
    algorithm,
    signingKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    env: { JWT_ALGORITHMS: algorithm, JWT_PUBLIC_KEYS: file }
  }
}

/**
 * Mints `count` distinct tokens (fresh jti each) for every job, spread over
 * worker threads: RS256 signs only ~1000 tokens/s per core.
 * jobs: [{ key: keyFor(...), count }] -> Map(algorithm -> string[])
 */
export async function mintPools (jobs, { ttlS = 3600, sub = 'bench-user' } = {}) {
  const threads = Math.max(1, availableParallelism())
  const tasks = []
  for (const { key, count } of jobs) {
    const share = Math.ceil(count / threads)
    for (let i = 0; i < threads; i++) {
      const n = Math.min(share, count - i * share)
      if (n > 0) tasks.push({ algorithm: key.algorithm, signingKey: key.signingKey, count: n, ttlS, sub, prefix: `${key.algorithm}-${i}-` })
    }
  }
  const out = new Map(jobs.map(({ key }) => [key.algorithm, []]))
  const queue = [...tasks]
  const worker = async () => {
    while (queue.length > 0) {
      const task = queue.shift()
      const tokens = await new Promise((resolve, reject) => {
        const w = new Worker(new URL('./mint-worker.js', import.meta.url), { workerData: task })
        w.once('message', resolve)
        w.once('error', reject)
      })
      // A loop, not push(...tokens): a share of 100k+ tokens overflows the argument stack.
      const pool = out.get(task.algorithm)
      for (const token of tokens) pool.push(token)
    }
  }
  await Promise.all(Array.from({ length: threads }, worker))
  return out
}

/** One token, minted in this thread (warm scenarios repeat it). */
export function mintOne (key, claims = {}) {
  const now = Math.floor(Date.now() / 1000)
  const sign = createSigner({ key: key.signingKey, algorithm: key.algorithm })
  return sign({ sub: 'bench-user', jti: randomBytes(12).toString('base64url'), iat: now, exp: now + 3600, scope: 'read write', roles: ['user'], ...claims })
}

/** Hands out pool tokens one at a time; null once exhausted. */
export class TokenPool {
  #tokens
  #next = 0
  constructor (tokens) { this.#tokens = tokens }
  take () { return this.#next < this.#tokens.length ? this.#tokens[this.#next++] : null }
  get last () { return this.#tokens[this.#tokens.length - 1] }
  get remaining () { return this.#tokens.length - this.#next }
  /** Tokens handed out: requests built, including those still in flight when a run stops. */
  get taken () { return this.#next }
}
