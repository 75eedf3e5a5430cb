import { setTimeout as sleep } from 'node:timers/promises'

/** Polls until check() is true; false when the deadline passed first (checked once more at the end). */
export async function until (check: () => boolean | Promise<boolean>, ms = 5000, everyMs = 10): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await sleep(everyMs)
  }
  return await check()
}
