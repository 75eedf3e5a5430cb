import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { watchFiles } from '../../src/server/file-watch.js'
import { tempDir } from '../helpers/temp-dir.js'
import { until, waitFor } from '../helpers/until.js'

const log = { warn: () => {} }

/** Watches `file`, collecting each call of onChange; closed when the test ends. */
function watching (t: { teardown: (fn: () => unknown) => void }, file: string): Array<readonly string[]> {
  const calls: Array<readonly string[]> = []
  const watch = watchFiles([file], (changed) => { calls.push(changed) }, { log, settleMs: 20 })
  t.teardown(() => { watch.close() })
  return calls
}

/**
 * A ConfigMap volume as the kubelet writes it: the file is a symlink through `..data`, itself a
 * symlink to a timestamped directory; an update writes a new directory and renames a new `..data`
 * link over the old one.
 */
function configMap (dir: string, generation: number, contents: string): void {
  const data = join(dir, `..2026_12_06_${generation}`)
  mkdirSync(data)
  writeFileSync(join(data, 'tokengate.yaml'), contents)
  symlinkSync(`..2026_12_06_${generation}`, join(dir, '..data_tmp'))
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'))
}

t.test('a Kubernetes ConfigMap update (the ..data symlink swapped) is one change of the file', async (t) => {
  const dir = tempDir(t, 'tokengate-configmap-')
  configMap(dir, 1, 'FAIL_MODE: open\n')
  symlinkSync('..data/tokengate.yaml', join(dir, 'tokengate.yaml'))
  const calls = watching(t, join(dir, 'tokengate.yaml'))
  configMap(dir, 2, 'FAIL_MODE: closed\n')
  await waitFor(() => calls.length > 0, 'the swap to be seen', 5000)
  t.same(calls, [[join(dir, 'tokengate.yaml')]])
  // And the next update too: the watch follows the name, not the first file.
  configMap(dir, 3, 'FAIL_MODE: open\n')
  await waitFor(() => calls.length > 1, 'the second swap to be seen', 5000)
})

t.test('an editor\'s rename-over is seen; a write that changes nothing, or another file, is not', async (t) => {
  const dir = tempDir(t, 'tokengate-editor-')
  const file = join(dir, 'rules.yaml')
  writeFileSync(file, '- { path: /admin, roles: [admin] }\n')
  const calls = watching(t, file)
  writeFileSync(join(dir, '.rules.yaml.swp'), 'x')
  writeFileSync(file, '- { path: /admin, roles: [admin] }\n')
  t.notOk(await until(() => calls.length > 0, 300), 'same content, other file: nothing')
  writeFileSync(join(dir, 'rules.yaml.tmp'), '- { path: /admin, roles: [root] }\n')
  renameSync(join(dir, 'rules.yaml.tmp'), file)
  await waitFor(() => calls.length > 0, 'the rename-over to be seen', 5000)
  t.same(calls, [[file]])
})
