// The limit of a cold decision in Node: bare Fastify running the verification tokengate runs for a
// token it has not seen (same fast-jwt options as src/tokens/key-verifier.ts, cache off), then an
// empty 200. Nothing else: no revocation state, no monitor, no metrics. /cached/verify: the same
// verifier with fast-jwt's own cache on, for one token repeated (what fast-jwt charges for a token
// it has seen).
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { createVerifier } from 'fast-jwt'

const algorithm = process.env.JWT_ALGORITHMS
const key = algorithm === 'HS256' ? process.env.JWT_SECRET : readFileSync(process.env.JWT_PUBLIC_KEYS, 'utf8')
const options = { key, algorithms: [algorithm], requiredClaims: ['sub', 'exp', 'iat', 'jti'], clockTolerance: 5000 }
const verify = createVerifier({ ...options, cache: false })
const verifyCached = createVerifier({ ...options, cache: true })

const app = Fastify({ logger: false })
app.all('/cached/*', async (request, reply) => {
  try {
    verifyCached(request.headers.authorization.slice(7))
  } catch {
    return reply.code(401).send()
  }
  return reply.code(200).send()
})
app.all('/*', async (request, reply) => {
  const header = request.headers.authorization
  try {
    verify(header.slice(7))
  } catch {
    return reply.code(401).send()
  }
  return reply.code(200).send()
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })
