import t, { type Test } from 'tap'
import { Cluster, type Redis } from 'ioredis'
import { CODE_OF } from '../../src/revocation/mark-kind.js'
import { bucketExpiry, bucketOf } from '../../src/revocation/redis/load-index.js'
import type { MarkKind } from '../../src/revocation/mark-kind.js'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { call } from '../helpers/http.js'
import { startRedis } from '../helpers/redis.js'
import { startCluster, startSentinelGroup } from '../helpers/redis-topologies.js'
import { nowS, sign } from '../helpers/tokens.js'
import { until } from '../helpers/until.js'

// Issue 18 item 7: marks written before marks were kept per issuer (keys without the issuer, log
// entries and index records of format versions 1 and 2) keep revoking what they revoked, in the
// single-issuer deployment that wrote them, whatever the topology.

const ISS = 'https://idp.example/realms/main'
const PREFIX = 'revoked:'
const RETENTION_S = 8 * 86_400
const ENV = { JWT_ISSUER: ISS, FAIL_MODE: 'closed', REVOCATION_CHECK_TIMEOUT_MS: '1000', LOG_LEVEL: 'warn' }

interface OldMark { readonly kind: MarkKind, readonly id: string, readonly before: number, readonly expiresAt: number, readonly version: 1 | 2 }

const OLD_KEY: Readonly<Record<MarkKind, (id: string) => string>> = {
  jti: (id) => `${PREFIX}jti:${id}`, session: (id) => `${PREFIX}sid:${id}`, user: (id) => `${PREFIX}sub:${id}`, global: () => `${PREFIX}all`
}

/** The index record as versions 1 (no version byte, no issuer) and 2 (version byte, issuer: JWT_ISSUER) wrote it. */
function oldRecord ({ kind, id, before, expiresAt, version }: OldMark): Buffer {
  const idBytes = Buffer.from(id)
  if (version === 1) {
    const record = Buffer.alloc(11 + idBytes.length)
    record.writeUInt8(CODE_OF[kind], 0)
    record.writeUInt32BE(before, 1)
    record.writeUInt32BE(expiresAt, 5)
    record.writeUInt16BE(idBytes.length, 9)
    idBytes.copy(record, 11)
    return record
  }
  const issuer = Buffer.from(ISS)
  const record = Buffer.alloc(14 + idBytes.length + issuer.length)
  record.writeUInt8(0x80 | 2, 0)
  record.writeUInt8(CODE_OF[kind], 1)
  record.writeUInt32BE(before, 2)
  record.writeUInt32BE(expiresAt, 6)
  record.writeUInt16BE(idBytes.length, 10)
  record.writeUInt16BE(issuer.length, 12)
  idBytes.copy(record, 14)
  issuer.copy(record, 14 + idBytes.length)
  return record
}

/** What the previous versions wrote for one mark: the key, the log entry and the index record (each in its own slot in a Cluster). */
async function writeOld (client: Redis | Cluster, mark: OldMark): Promise<void> {
  const ttl = mark.expiresAt - nowS()
  await client.set(OLD_KEY[mark.kind](mark.id), mark.kind === 'jti' || mark.kind === 'session' ? '1' : String(mark.before), 'EX', ttl)
  const fields = ['k', mark.kind, 'i', mark.kind === 'global' ? '' : mark.id, 'v', mark.kind === 'user' || mark.kind === 'global' ? String(mark.before) : '', 'e', String(mark.expiresAt)]
  await client.xadd(`${PREFIX}log`, '*', ...(mark.version === 2 ? ['f', '2', 's', ISS, ...fields] : fields))
  const bucket = bucketOf(mark.expiresAt, nowS(), RETENTION_S)
  await client.append(`${PREFIX}idx:${bucket}`, oldRecord(mark))
  await client.expireat(`${PREFIX}idx:${bucket}`, bucketExpiry(bucket, mark.expiresAt))
}

async function status (gw: Gateway, claims: Record<string, unknown>): Promise<number> {
  return (await call(`${gw.url}/auth/token/validate`, { token: sign({ claims: { iss: ISS, ...claims } }) })).status
}

async function upgrade (t: Test, env: Record<string, string>, client: Redis | Cluster): Promise<void> {
  const now = nowS()
  const expiresAt = now + 600
  const before = now - 100
  for (const version of [1, 2] as const) {
    await writeOld(client, { kind: 'jti', id: `old-jti-v${version}`, before: 0, expiresAt, version })
    await writeOld(client, { kind: 'session', id: `old-sid-v${version}`, before: 0, expiresAt, version })
    await writeOld(client, { kind: 'user', id: `old-sub-v${version}`, before: now, expiresAt, version })
  }
  await writeOld(client, { kind: 'global', id: '', before, expiresAt, version: 2 })

  const gw = await startGateway(t, { ...ENV, ...env })
  t.equal((await call(`${gw.url}/readyz`)).status, 200, 'the new version starts on the old state and is ready')
  for (const version of [1, 2]) {
    t.equal(await status(gw, { jti: `old-jti-v${version}` }), 401, `a version ${version} jti mark still revokes its token`)
    t.equal(await status(gw, { sid: `old-sid-v${version}` }), 401, `a version ${version} session mark still revokes the session`)
    t.equal(await status(gw, { sub: `old-sub-v${version}`, iat: now - 10 }), 401, `a version ${version} user mark still revokes the user`)
  }
  t.equal(await status(gw, { sub: 'someone', iat: before - 10 }), 401, 'the old global mark still revokes tokens issued before it')
  t.equal(await status(gw, {}), 200, 'and not those issued after it')

  // A stale replica asks Redis: the old keys answer too.
  const store = gw.app.tokengate.store
  t.equal(await store.lookup({ iss: ISS, jti: 'old-jti-v2', sid: 'x', sub: 'x', iat: now }), 'jti', 'a Redis lookup finds an old jti key')
  t.equal(await store.lookup({ iss: ISS, jti: 'x', sid: 'old-sid-v1', sub: 'x', iat: now }), 'session', 'and an old session key')
  t.equal(await store.lookup({ iss: ISS, jti: 'x', sid: 'x', sub: 'old-sub-v2', iat: now - 10 }), 'user', 'and an old user key')

  // An old replica still running during a rolling upgrade writes in the old format: followers apply it.
  await writeOld(client, { kind: 'jti', id: 'late-jti', before: 0, expiresAt, version: 2 })
  t.ok(await until(async () => await status(gw, { jti: 'late-jti' }) === 401, 5000), 'a version 2 log entry written after the upgrade revokes')

  // The new version's own marks are per issuer and sit beside the old ones.
  await gw.app.tokengate.revoker.user(ISS, 'new-sub', 'admin_user_revoked')
  t.equal(await status(gw, { sub: 'new-sub', iat: now }), 401, 'a new mark revokes')
}

t.test('standalone: marks written before issuers keep revoking', async (t) => {
  const redis = await startRedis()
  t.teardown(() => redis.stop())
  await upgrade(t, { REDIS_URL: redis.url }, redis.client)
})

t.test('Sentinel: marks written before issuers keep revoking', async (t) => {
  const group = await startSentinelGroup()
  t.teardown(() => group.stop())
  const primary = group.servers.get(await group.primaryPort())
  if (primary === undefined) throw new Error('no primary')
  await upgrade(t, group.env, primary.client)
})

t.test('Cluster: marks written before issuers keep revoking', async (t) => {
  const cluster = await startCluster(3)
  t.teardown(() => cluster.stop())
  const client = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })))
  t.teardown(() => client.disconnect())
  await upgrade(t, cluster.env, client)
})
