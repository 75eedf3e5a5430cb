import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { sharedRedis } from '../helpers/redis.js'
import { tempDir } from '../helpers/temp-dir.js'
import { SECRET, sign } from '../helpers/tokens.js'
import { startUpstream } from '../helpers/upstream.js'
import { waitFor } from '../helpers/until.js'
import { onNewConnection, startCluster } from './cluster-process.js'

const user = sign({ claims: { sub: 'alice', roles: ['user'] } })
const reloads = (logs: string): number => logs.split('\n').filter((line) => line.includes('"msg":"configuration reloaded"')).length

t.test('WORKERS=2: a changed file and SIGHUP reach every worker; the next request on any connection meets the new rule', async (t) => {
  const redis = await sharedRedis(t)
  const upstream = await startUpstream(t)
  const file = join(tempDir(t, 'tokengate-cluster-'), 'tokengate.yaml')
  writeFileSync(file, stringify({ JWT_SECRET: SECRET, UPSTREAM_URL: upstream.url }))
  const gateway = await startCluster(t, { WORKERS: '2', REDIS_URL: redis.url, TOKENGATE_CONFIG: file })
  t.equal(gateway.logs().split('\n').filter((line) => line.includes('"msg":"effective configuration (secrets redacted)"')).length, 1, 'logged once, by the primary')
  for (let i = 0; i < 4; i++) t.equal((await onNewConnection(`${gateway.base}/admin/users`, { token: user })).status, 200)
  writeFileSync(file, stringify({ JWT_SECRET: SECRET, UPSTREAM_URL: upstream.url, ACCESS_RULES: [{ path: '/admin', roles: ['admin'] }] }))
  await waitFor(() => reloads(gateway.logs()) >= 2, 'both workers to reload', 10_000)
  // Each new connection goes to the next worker: four requests meet both.
  for (let i = 0; i < 4; i++) t.equal((await onNewConnection(`${gateway.base}/admin/users`, { token: user })).status, 403, `request ${i + 1} refused`)
  gateway.child.kill('SIGHUP')
  await waitFor(() => reloads(gateway.logs()) >= 4, 'both workers to reload on SIGHUP', 10_000)
  t.equal(gateway.child.exitCode, null, 'SIGHUP does not end the primary')
  t.equal(gateway.workerPids().length, 2, 'nor a worker')
})
