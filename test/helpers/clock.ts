/** Milliseconds since the epoch that move only when told: the code under test ages without a sleep. */
export interface ManualClock {
  readonly now: () => number
  advance: (ms: number) => void
}

export function manualClock (start = Date.now()): ManualClock {
  let now = start
  return { now: () => now, advance: (ms) => { now += ms } }
}

/** Real time plus jumps: for code that also talks to Redis, whose own clock cannot be moved. */
export function jumpingClock (): { now: () => number, jump: (ms: number) => void } {
  let offset = 0
  return { now: () => Date.now() + offset, jump: (ms) => { offset += ms } }
}

/**
 * Real time plus jumps, put 2 s before the nearest boundary of `stepMs` steps (so at most
 * stepMs / 2 + 2 s off real time); `cross()` jumps just past the next boundary. For DPoP nonces'
 * time steps: a proof's `iat` is real time, and stays within the window.
 */
export function steppingClock (stepMs: number): { now: () => number, cross: () => void } {
  const clock = jumpingClock()
  const into = clock.now() % stepMs
  clock.jump(into < stepMs / 2 ? -into - 2000 : stepMs - into - 2000)
  return { now: clock.now, cross: () => { clock.jump(stepMs - (clock.now() % stepMs) + 100) } }
}
