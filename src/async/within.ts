/**
 * Resolves to the value of `work`, or to `fallback` when `work` rejects or
 * takes longer than `budgetMs`. The timer is cleared either way, so a fast
 * answer leaves nothing behind that would keep the process alive.
 */
export async function within<T, F> (work: Promise<T>, budgetMs: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<F>((resolve) => { timer = setTimeout(resolve, budgetMs, fallback) })
  try {
    return await Promise.race([work.catch(() => fallback), late])
  } finally {
    clearTimeout(timer)
  }
}
