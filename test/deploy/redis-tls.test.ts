import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import t from 'tap'
import { serveCli } from '../helpers/cli.js'
import { call } from '../helpers/http.js'
import { freePort } from '../helpers/redis.js'
import { tempDir } from '../helpers/temp-dir.js'
import { SECRET, sign } from '../helpers/tokens.js'

// What docs/deploying.md says for a Redis with a password and TLS: REDIS_URL=rediss://:PASSWORD@host:port,
// the server's CA in NODE_EXTRA_CA_CERTS when it is private. A real redis-server with --tls-port
// (Debian's is built with TLS) and --requirepass, a certificate made by openssl for 127.0.0.1.

const tls = spawnSync('redis-server', ['--version']).status === 0 && spawnSync('openssl', ['version']).status === 0
const skip = tls ? false : 'redis-server or openssl missing'

t.test('tokengate over rediss:// with a password: revocations stored and enforced', { skip }, async (t) => {
  const dir = tempDir(t, 'tg-redis-tls-')
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')]
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' })
  t.equal(made.status, 0, 'openssl made a certificate for 127.0.0.1')
  const port = await freePort()
  const password = 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4'
  const redis = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', cert, '--tls-key-file', key,
    '--tls-auth-clients', 'no', '--requirepass', password, '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' })
  const exited = once(redis, 'exit')
  t.teardown(async () => { redis.kill('SIGKILL'); await exited })

  const gw = await serveCli(t, { NODE_ENV: 'production', JWT_SECRET: SECRET, REDIS_URL: `rediss://:${password}@127.0.0.1:${port}`, NODE_EXTRA_CA_CERTS: cert })
  const health = await call(`${gw.url}/healthz`)
  t.equal(health.status, 200)
  const token = sign({ claims: { sub: 'tls-user' } })
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 200)
  t.equal((await call(`${gw.url}/auth/logout`, { method: 'POST', token })).status, 200, 'the revocation is stored in Redis over TLS')
  t.equal((await call(`${gw.url}/auth/verify`, { token })).status, 401)
  t.notMatch(gw.output(), password, 'the password is never logged')
})
