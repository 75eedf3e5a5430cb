import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

interface Teardown { teardown: (fn: () => unknown) => void }

/** A temp directory removed when the test ends. */
export function tempDir (t: Teardown, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

/** A file holding `contents` (rules, keys) in a temp directory removed when the test ends. */
export function tempFile (t: Teardown, name: string, contents: string): string {
  const file = join(tempDir(t, 'tokengate-'), name)
  writeFileSync(file, contents)
  return file
}
