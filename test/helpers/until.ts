import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'

// The one polling loop of the test suite: every wait for something that
// happens in the background goes through poll(). everyMs 0 polls on every turn
// of the event loop (for latency measurements).

type Check = () => boolean | Promise<boolean>

async function poll (check: Check, ms: number, everyMs: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await (everyMs === 0 ? nextTurn() : sleep(everyMs))
  }
  return await check()
}

/** Polls until check() is true; false when the deadline passed first (checked once more at the end). */
export async function until (check: Check, ms = 5000, everyMs = 10): Promise<boolean> {
  return await poll(check, ms, everyMs)
}

/**
 * Waits for something to come up (a process, a server, a failover): a check
 * that throws (a refused connection) counts as "not yet"; throws, naming
 * `what` and the last error, when the deadline passes.
 */
export async function waitFor (check: Check, what: string, ms = 15_000, everyMs = 25): Promise<void> {
  let lastError: unknown = null
  const settled = async (): Promise<boolean> => {
    try {
      return await check()
    } catch (err) {
      lastError = err
      return false
    }
  }
  if (await poll(settled, ms, everyMs)) return
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
  throw new Error(`timed out after ${ms} ms waiting for ${what}${cause}`)
}

/** Reads until accept(value) holds; returns the last value read, accepted or not, for the test to assert on. */
export async function untilValue<T> (read: () => T | Promise<T>, accept: (value: T) => boolean, ms = 3000, everyMs = 25): Promise<T> {
  let value!: T
  await poll(async () => accept(value = await read()), ms, everyMs)
  return value
}

/** Milliseconds until check() holds; Infinity past `ms`. */
export async function msUntil (check: Check, ms: number, everyMs = 5): Promise<number> {
  const started = performance.now()
  return await poll(check, ms, everyMs) ? performance.now() - started : Infinity
}

/** The value of `promise`; throws, naming `what`, when it has not settled within `ms`. */
export async function inTime<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}
