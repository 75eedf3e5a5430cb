import { execFileSync } from 'node:child_process'
import { availableParallelism } from 'node:os'

let available = null

/** taskset is installed and there are at least two cores to keep apart. */
export function canPin () {
  if (available === null) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
      available = availableParallelism() >= 2
    } catch {
      available = false
    }
  }
  return available
}

/** Pins every thread of this process (the load generator) to `cpu`; threads started later inherit it. */
export function pinSelf (cpu) {
  if (!canPin()) return false
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' })
  return true
}
