// node bench/issuer-choice.js (after npm run build): what choosing among several issuers costs a
// verification, cache off, HS256: one issuer whose token header is read (two secrets, so not the
// single-key path) against two issuers (the header, then the payload's iss), and the iss read alone.
// Rounds alternated; medians of 9 rounds of 20,000 distinct tokens.
import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { loadConfig } from '../dist/config/load.js'
import { peekIssuer } from '../dist/tokens/header.js'
import { createTokenVerifier } from '../dist/tokens/verifier.js'

const secret = 'bench-secret-'.padEnd(48, 'x')
const A = 'https://a.example.com'
const jwt = loadConfig({ NODE_ENV: 'test', JWT_SECRET: secret, JWT_PREVIOUS_SECRET: 'previous-secret-'.padEnd(48, 'y'), JWT_ISSUER: A, JWT_VERIFY_CACHE_SIZE: '0' }).jwt
const partner = { ...jwt.issuers[0], issuer: 'https://b.example.com', grantsAdmin: false }
const verifiers = { one: createTokenVerifier(jwt, null), two: createTokenVerifier({ ...jwt, issuers: [jwt.issuers[0], partner] }, null) }
const sign = createSigner({ key: secret, algorithm: 'HS256' })
const now = Math.floor(Date.now() / 1000)
const tokens = Array.from({ length: 20_000 }, () => sign({ sub: 'u1', jti: randomUUID(), iat: now, exp: now + 600, iss: A, roles: ['r'] }))
if (!verifiers.two.verify(tokens[0]).ok) throw new Error('the two-issuer verifier refused a token of the first')
const runs = { one: (token) => verifiers.one.verify(token), two: (token) => verifiers.two.verify(token), iss: peekIssuer }
const perToken = (fn) => {
  const start = process.hrtime.bigint()
  for (const token of tokens) fn(token)
  return Number(process.hrtime.bigint() - start) / 1000 / tokens.length
}
for (const fn of Object.values(runs)) perToken(fn) // warm-up
const times = { one: [], two: [], iss: [] }
for (let round = 0; round < 9; round++) {
  const names = round % 2 === 0 ? Object.keys(runs) : Object.keys(runs).reverse()
  for (const name of names) times[name].push(perToken(runs[name]))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1].toFixed(2)
process.stdout.write(`one issuer ${median(times.one)} µs, two issuers ${median(times.two)} µs, the iss read alone ${median(times.iss)} µs per token\n`)
