import { createHash } from 'node:crypto'
import { watch, readFileSync, type FSWatcher } from 'node:fs'
import { dirname, resolve } from 'node:path'

interface Logger { warn: (obj: object, msg: string) => void }

export interface FileWatchOptions {
  /** Events within this many milliseconds are one change (an editor's write, rename and chmod). */
  readonly settleMs?: number
  readonly log: Logger
}

export interface FileWatch { close: () => void }

function digest (path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex')
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`
  }
}

/**
 * Calls `onChange` once the content of one of `paths` changed. Each file's directory is watched,
 * not the file: an editor's rename-over and a Kubernetes ConfigMap update (the `..data` symlink
 * swapped to a new directory) replace the file, and a watch on the file itself would follow the
 * old one. Every event in the directory re-reads the files and compares their content, so that a
 * touch or an unrelated file changes nothing.
 */
export function watchFiles (paths: readonly string[], onChange: (changed: readonly string[]) => void, { settleMs = 100, log }: FileWatchOptions): FileWatch {
  const files = [...new Set(paths.map((path) => resolve(path)))]
  const seen = new Map(files.map((path) => [path, digest(path)]))
  let timer: NodeJS.Timeout | null = null
  const check = (): void => {
    timer = null
    const changed = files.filter((path) => {
      const now = digest(path)
      if (now === seen.get(path)) return false
      seen.set(path, now)
      return true
    })
    if (changed.length > 0) onChange(changed)
  }
  const watchers: FSWatcher[] = []
  for (const dir of new Set(files.map((path) => dirname(path)))) {
    try {
      // Not persistent: a watch never keeps a process alive that is otherwise done.
      const watcher = watch(dir, { persistent: false }, () => {
        if (timer === null) timer = setTimeout(check, settleMs)
      })
      watcher.on('error', (err) => { log.warn({ err: err.message, dir }, 'watching a configuration directory failed; SIGHUP still reloads') })
      watchers.push(watcher)
    } catch (err) {
      log.warn({ err: (err as Error).message, dir }, 'cannot watch a configuration directory; SIGHUP still reloads')
    }
  }
  return {
    close () {
      if (timer !== null) clearTimeout(timer)
      for (const watcher of watchers) watcher.close()
    }
  }
}
