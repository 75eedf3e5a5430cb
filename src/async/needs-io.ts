/**
 * The answer of a synchronous step that cannot finish without I/O (a JWKS
 * fetch, a revocation store lookup). It carries the rest of the work, started
 * when first awaited, once. Each step of a decision answers `T | NeedsIo<T>`:
 * the common case (a known key, a current revocation state) is decided in one
 * synchronous call with no promise, and the rare one finishes asynchronously
 * from where it stopped, without doing anything twice. A caller that does not
 * care simply awaits the answer.
 */
export class NeedsIo<T> implements PromiseLike<T> {
  readonly #finish: () => Promise<T>
  #started: Promise<T> | null = null

  constructor (finish: () => Promise<T>) {
    this.#finish = finish
  }

  then<A = T, B = never> (onDone?: ((value: T) => A | PromiseLike<A>) | null, onFailed?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    this.#started ??= this.#finish()
    return this.#started.then(onDone, onFailed)
  }
}

/** `next` applied to a step's answer: now, or once the step's I/O is done. */
export function afterIo<T, U> (answer: T | NeedsIo<T>, next: (value: T) => U | NeedsIo<U>): U | NeedsIo<U> {
  if (!(answer instanceof NeedsIo)) return next(answer)
  return new NeedsIo(async () => await next(await answer))
}
