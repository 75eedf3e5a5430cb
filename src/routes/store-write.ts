import { Failures, GatewayError } from '../errors.js'

/** Runs a revocation write; a store failure becomes 503 (never a false 2xx). */
export async function storeWrite<T> (write: () => Promise<T>): Promise<T> {
  try {
    return await write()
  } catch (err) {
    // The store's own refusal (too few replicas confirmed) is already the registry's 503.
    if (err instanceof GatewayError && err.failure === Failures.STORE_UNAVAILABLE) throw err
    throw new GatewayError(Failures.STORE_UNAVAILABLE, { cause: err })
  }
}
