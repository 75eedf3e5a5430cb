import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat. */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

function statFields (pid) {
  // After the command name, which may hold spaces and parentheses.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** CPU seconds (utime + stime, every thread) one process has used so far; 0 once it is gone. */
export function cpuSeconds (pid) {
  try {
    const fields = statFields(pid)
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return 0
  }
}

/**
 * The process and all its descendants (nginx's worker, node:cluster workers):
 * their CPU is not in the parent's utime/stime until they exit.
 */
export function processTree (pid) {
  const children = new Map()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const ppid = Number(statFields(entry)[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid).push(Number(entry))
    } catch {}
  }
  const tree = []
  const walk = (p) => { tree.push(p); for (const c of children.get(p) ?? []) walk(c) }
  walk(pid)
  return tree
}

export function treeCpuSeconds (pids) {
  let total = 0
  for (const pid of pids) total += cpuSeconds(pid)
  return total
}

/** Busy and total jiffies per CPU from /proc/stat (busy: everything but idle and iowait). */
export function coreTimes () {
  const out = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (m === null) continue
    const v = m[2].trim().split(/\s+/).map(Number)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
    out[Number(m[1])] = { busy: total - v[3] - v[4], total }
  }
  return out
}

/** Share of each core that was busy between two coreTimes() readings (0-1). */
export function coreBusy (before, after) {
  return after.map((a, i) => {
    const total = a.total - before[i].total
    return total > 0 ? Math.round(((a.busy - before[i].busy) / total) * 1000) / 1000 : null
  })
}

export function loadAverage () {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number)
  } catch {
    return null
  }
}
