import { createSigner } from 'fast-jwt'
import { parentPort, workerData } from 'node:worker_threads'

const { algorithm, signingKey, count, exp, sub, prefix } = workerData
const sign = createSigner({ key: signingKey, algorithm })
const now = Math.floor(Date.now() / 1000)
const tokens = new Array(count)
for (let i = 0; i < count; i++) {
  tokens[i] = sign({ sub, jti: prefix + i, iat: now, exp, scope: 'read write', roles: ['user'] })
}
parentPort.postMessage(tokens)
