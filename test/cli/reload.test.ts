import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { stringify } from 'yaml'
import { serveCli, type ServedGateway } from '../helpers/cli.js'
import { tempDir } from '../helpers/temp-dir.js'
import { SECRET, sign } from '../helpers/tokens.js'
import { waitFor } from '../helpers/until.js'

// `tokengate serve` as its own process: SIGHUP and the file watch reach app.tokengateReload
// (what a reload does is tested in-process, test/reload.test.ts).

const user = sign({ claims: { sub: 'alice', roles: ['user'] } })

async function verify (gw: ServedGateway, uri: string): Promise<number> {
  const res = await fetch(`${gw.url}/auth/verify`, { headers: { authorization: `Bearer ${user}`, 'x-original-method': 'GET', 'x-original-uri': uri } })
  await res.arrayBuffer()
  return res.status
}

/** A ConfigMap volume as the kubelet writes it: file -> ..data/file, ..data -> a timestamped directory, swapped by a rename. */
function configMap (dir: string, generation: number, settings: Record<string, unknown>): void {
  const data = join(dir, `..2026_12_06_${generation}`)
  mkdirSync(data)
  writeFileSync(join(data, 'tokengate.yaml'), stringify(settings))
  symlinkSync(data, join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
}

t.test('a ConfigMap update reloads the running gateway: the next request meets the new rule', async (t) => {
  const dir = tempDir(t, 'tokengate-configmap-')
  configMap(dir, 1, { NODE_ENV: 'test', JWT_SECRET: SECRET })
  symlinkSync('..data/tokengate.yaml', join(dir, 'tokengate.yaml'))
  const gw = await serveCli(t, { TOKENGATE_CONFIG: join(dir, 'tokengate.yaml') })
  t.match(gw.output(), /"msg":"effective configuration \(secrets redacted\)"/)
  t.match(gw.output(), /"JWT_SECRET":\{"value":"\[redacted\]","from":"file"\}/)
  t.notOk(gw.output().includes(SECRET), 'the secret is not logged')
  t.equal(await verify(gw, '/admin/users'), 200)
  configMap(dir, 2, { NODE_ENV: 'test', JWT_SECRET: SECRET, ACCESS_RULES: [{ path: '/admin', roles: ['admin'] }] })
  await waitFor(() => gw.output().includes('"msg":"configuration reloaded"'), 'the reload', 10_000)
  t.equal(await verify(gw, '/admin/users'), 403, 'refused by the rule the update added')
})

t.test('SIGHUP reloads; an invalid file keeps the running configuration and the process', async (t) => {
  const dir = tempDir(t, 'tokengate-sighup-')
  const file = join(dir, 'tokengate.json')
  writeFileSync(file, JSON.stringify({ NODE_ENV: 'test', JWT_SECRET: SECRET, ACCESS_RULES: [{ path: '/admin', roles: ['admin'] }] }))
  const gw = await serveCli(t, { TOKENGATE_CONFIG: file })
  gw.signal('SIGHUP')
  await waitFor(() => /"trigger":"SIGHUP"[^\n]*"msg":"configuration reloaded"/.test(gw.output()), 'the SIGHUP reload', 10_000)
  t.ok(gw.running(), 'SIGHUP does not end the process')
  writeFileSync(file, JSON.stringify({ NODE_ENV: 'test', JWT_SECRET: SECRET, ACCESS_RULES: [{ path: 'admin' }], FAILMODE: 'closed' }))
  await waitFor(() => gw.output().includes('"msg":"configuration reload refused; the running configuration is kept"'), 'the refusal', 10_000)
  t.match(gw.output(), /ACCESS_RULES: rule 0/)
  t.match(gw.output(), /FAILMODE: unknown key; did you mean FAIL_MODE\?/)
  t.equal(await verify(gw, '/admin/users'), 403, 'the running rule still applies')
  t.ok(gw.running())
})
