/**
 * A size-limited Map whose entries live at most `ttlMs`, without a timestamp
 * per entry: new entries go into a young generation; every `ttlMs / 2`, or
 * when the young one holds half of `max`, the young generation becomes the old
 * one and the old one is dropped whole. No entry is kept longer than its
 * lifetime; under a flood of new keys the generations turn over sooner.
 */
export class GenerationalMap<V> {
  #young = new Map<string, V>()
  #old = new Map<string, V>()
  readonly #half: number
  readonly #periodMs: number
  readonly #now: () => number
  #rotateAt: number

  constructor (max: number, ttlMs: number, now: () => number = () => performance.now()) {
    this.#half = Math.max(1, Math.ceil(max / 2))
    this.#periodMs = ttlMs / 2
    this.#now = now
    this.#rotateAt = now() + this.#periodMs
  }

  get size (): number {
    this.#age()
    return this.#young.size + this.#old.size
  }

  get (key: string): V | undefined {
    this.#age()
    return this.#young.get(key) ?? this.#old.get(key)
  }

  set (key: string, value: V): void {
    this.#age()
    if (this.#young.size >= this.#half && !this.#young.has(key)) this.#rotate(this.#now() + this.#periodMs)
    this.#old.delete(key)
    this.#young.set(key, value)
  }

  delete (key: string): void {
    this.#young.delete(key)
    this.#old.delete(key)
  }

  clear (): void {
    this.#young = new Map()
    this.#old = new Map()
  }

  #age (): void {
    const now = this.#now()
    if (now < this.#rotateAt) return
    if (now >= this.#rotateAt + this.#periodMs) {
      // Two periods without a rotation: both generations are past their lifetime.
      this.clear()
      this.#rotateAt = now + this.#periodMs
      return
    }
    // On schedule, not from now: the young generation started a period before rotateAt.
    this.#rotate(this.#rotateAt + this.#periodMs)
  }

  #rotate (next: number): void {
    this.#old = this.#young
    this.#young = new Map()
    this.#rotateAt = next
  }
}
