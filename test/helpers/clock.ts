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
