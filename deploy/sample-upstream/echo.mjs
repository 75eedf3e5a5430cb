// A stand-in for the finance API: answers every request with what reached it,
// so the identity headers tokengate (or nginx/Traefik) set can be seen.
//   PORT=8000 node deploy/sample-upstream/echo.mjs
import { createServer } from 'node:http'

const IDENTITY = ['x-user-id', 'x-token-jti', 'x-token-scope', 'x-user-roles', 'x-user-issuer', 'x-token-binding']

const server = createServer((req, res) => {
  const identity = Object.fromEntries(IDENTITY.filter((name) => req.headers[name] !== undefined).map((name) => [name, req.headers[name]]))
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ method: req.method, url: req.url, identity }) + '\n')
})

server.listen(Number(process.env.PORT ?? 8000), process.env.HOST ?? '0.0.0.0', () => {
  process.stdout.write(`sample upstream listening on ${server.address().port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
