/**
 * Resolves to the value of `work`, or to `fallback` when `work` rejects or
 * takes longer than `budgetMs`. The timer is cleared either way, so a fast
 * answer leaves nothing behind that would keep the process alive.
 *
 * "Longer" is measured by the answer, not by a busy event loop: when the timer
 * fires, the fallback waits for the loop's next check phase (setImmediate),
 * after its poll phase has read whatever I/O already arrived. A Redis reply
 * that came back in 0.1 ms while a saturated process (50 connections, DPoP
 * proofs being verified) ran late by more than the budget is still its
 * answer: without this, 177 of 40,735 DPoP requests in such a run were
 * refused 503 TG_ERR_DPOP_REPLAY_UNAVAILABLE with Redis answering at once.
 */
export async function within<T, F> (work: Promise<T>, budgetMs: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined
  let immediate: NodeJS.Immediate | undefined
  const late = new Promise<F>((resolve) => {
    timer = setTimeout(() => { immediate = setImmediate(resolve, fallback) }, budgetMs)
  })
  try {
    return await Promise.race([work.catch(() => fallback), late])
  } finally {
    clearTimeout(timer)
    clearImmediate(immediate)
  }
}
