import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
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
export function keyFor (algorithm, dir, saved = null) {
  if (algorithm === 'HS256') {
    const secret = saved?.signingKey ?? randomBytes(48).toString('base64url')
    return { algorithm, signingKey: secret, env: { JWT_SECRET: secret, JWT_ALGORITHMS: 'HS256' } }
  }
  let pem = saved?.publicKeyPem
  let signingKey = saved?.signingKey
  if (pem === undefined || signingKey === undefined) {
    const [type, options] = PAIRS[algorithm]
    const { publicKey, privateKey } = generateKeyPairSync(type, options)
    pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    signingKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  }
  const file = join(dir, `${algorithm}.pub.pem`)
  writeFileSync(file, pem)
  return { algorithm, signingKey, publicKeyPem: pem, env: { JWT_ALGORITHMS: algorithm, JWT_PUBLIC_KEYS: file } }
}

const STOCK_DIR = join(tmpdir(), 'tokengate-bench-tokens')
const STOCK_TTL_S = 24 * 3600
// A stock is reused while its tokens have this long left: a run never outlasts it.
const STOCK_MIN_LEFT_S = 6 * 3600
const NL = 10

/**
 * Distinct tokens held off the JS heap (one Buffer, one token a line), so
 * that a stock of 10^5-10^6 tokens costs the load generator no GC.
 */
export class TokenStock {
  #buf
  #starts
  #next = 0
  constructor (buf) {
    this.#buf = buf
    const starts = [0]
    for (let at = buf.indexOf(NL); at !== -1; at = buf.indexOf(NL, at + 1)) starts.push(at + 1)
    if (starts.at(-1) === buf.length) starts.pop()
    this.#starts = Uint32Array.from(starts)
  }

  get size () { return this.#starts.length }

  /** The next `n` tokens as [start, end) byte ranges; fewer when the stock runs out. */
  take (n) {
    const from = this.#next
    this.#next = Math.min(this.#starts.length, from + n)
    return { from, to: this.#next }
  }

  /** One raw HTTP request per token of a take(), built into one Buffer (each request a view). */
  requests ({ from, to }, head, tail = '\r\n\r\n') {
    const h = Buffer.from(head, 'latin1')
    const t = Buffer.from(tail, 'latin1')
    const end = (i) => i + 1 < this.#starts.length ? this.#starts[i + 1] - 1 : this.#buf.length
    let bytes = 0
    for (let i = from; i < to; i++) bytes += h.length + (end(i) - this.#starts[i]) + t.length
    const out = Buffer.allocUnsafe(bytes)
    const list = new Array(to - from)
    let at = 0
    for (let i = from; i < to; i++) {
      const begin = at
      at += h.copy(out, at)
      at += this.#buf.copy(out, at, this.#starts[i], end(i))
      at += t.copy(out, at)
      list[i - from] = out.subarray(begin, at)
    }
    return list
  }

  /** The tokens of a take() as strings (for autocannon and the propagation check). */
  strings ({ from, to }) {
    const end = (i) => i + 1 < this.#starts.length ? this.#starts[i + 1] - 1 : this.#buf.length
    const list = []
    for (let i = from; i < to; i++) list.push(this.#buf.latin1Slice(this.#starts[i], end(i)))
    return list
  }
}

/**
 * Keys and at least `count` distinct tokens per algorithm, kept between runs
 * in the temp dir: RS256 signs ~1,000 tokens a second per core, and every run
 * starts fresh servers and a fresh Redis, so a token sent in an earlier run is
 * still one this run's servers have never seen. Within a run each is sent once.
 * needs: { ALG: count } -> { ALG: { key, stock: TokenStock, minted } }
 */
export async function tokenStocks (needs, dir, { reuse = true } = {}) {
  mkdirSync(STOCK_DIR, { recursive: true })
  const now = Math.floor(Date.now() / 1000)
  const entries = {}
  const jobs = []
  for (const [algorithm, count] of Object.entries(needs)) {
    const meta = join(STOCK_DIR, `${algorithm}.json`)
    const file = join(STOCK_DIR, `${algorithm}.tokens`)
    let saved = reuse && existsSync(meta) && existsSync(file) ? JSON.parse(readFileSync(meta, 'utf8')) : null
    if (saved !== null && saved.exp - now < STOCK_MIN_LEFT_S) saved = null
    const key = keyFor(algorithm, dir, saved)
    const have = saved?.count ?? 0
    const exp = saved?.exp ?? now + STOCK_TTL_S
    entries[algorithm] = { key, meta, file, exp, have, count, minted: 0 }
    if (count === 0) continue
    if (saved === null) writeFileSync(file, '')
    if (have < count) jobs.push({ key, count: count - have })
  }
  if (jobs.length > 0) {
    const minted = await mintPools(jobs, { expAt: (alg) => entries[alg].exp })
    for (const [algorithm, tokens] of minted) {
      const entry = entries[algorithm]
      appendFileSync(entry.file, tokens.join('\n') + '\n')
      entry.minted = tokens.length
      writeFileSync(entry.meta, JSON.stringify({ algorithm, signingKey: entry.key.signingKey, publicKeyPem: entry.key.publicKeyPem, exp: entry.exp, count: entry.have + tokens.length }))
    }
  }
  const out = {}
  for (const [algorithm, entry] of Object.entries(entries)) {
    // No cold scenario of this algorithm: its key (for the warm token), no stock read.
    const tokens = entry.count === 0 ? Buffer.alloc(0) : readFileSync(entry.file)
    out[algorithm] = { key: entry.key, stock: new TokenStock(tokens), minted: entry.minted }
  }
  return out
}

/**
 * Mints `count` distinct tokens (fresh jti each) for every job, spread over
 * worker threads: RS256 signs only ~1000 tokens/s per core.
 * jobs: [{ key: keyFor(...), count }] -> Map(algorithm -> string[])
 */
export async function mintPools (jobs, { ttlS = 3600, sub = 'bench-user', expAt = null } = {}) {
  const threads = Math.max(1, availableParallelism())
  const tasks = []
  for (const { key, count } of jobs) {
    const share = Math.ceil(count / threads)
    for (let i = 0; i < threads; i++) {
      const n = Math.min(share, count - i * share)
      const exp = expAt === null ? Math.floor(Date.now() / 1000) + ttlS : expAt(key.algorithm)
      if (n > 0) tasks.push({ algorithm: key.algorithm, signingKey: key.signingKey, count: n, exp, sub, prefix: `${key.algorithm}-${randomBytes(6).toString('base64url')}-${i}-` })
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
