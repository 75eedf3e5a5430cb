import { createHmac, timingSafeEqual } from 'node:crypto'

/** How long one nonce is issued for; a nonce is accepted during its step and the next one. */
export const NONCE_STEP_S = 60

/**
 * RFC 9449 §9 resource-server nonces that every replica accepts without sharing state: a nonce
 * is a time step and an HMAC of it under DPOP_NONCE_SECRET, which every replica holds. A nonce
 * is accepted in its own step and the next (60 to 120 s), so a client that fetched one just
 * before a step ends is not refused at once.
 */
export class DpopNonces {
  readonly #secret: Buffer
  readonly #now: () => number

  constructor (secret: string, now: () => number = Date.now) {
    this.#secret = Buffer.from(secret)
    this.#now = now
  }

  #mac (step: number): string {
    return createHmac('sha256', this.#secret).update(`tokengate-dpop-nonce:${step}`).digest('base64url').slice(0, 32)
  }

  #step (): number {
    return Math.floor(this.#now() / 1000 / NONCE_STEP_S)
  }

  /** The nonce to hand out now (a DPoP-Nonce header): base64url characters and one dot. */
  current (): string {
    const step = this.#step()
    return `${step.toString(36)}.${this.#mac(step)}`
  }

  valid (nonce: string | undefined): boolean {
    if (nonce === undefined || nonce.length > 64) return false
    const dot = nonce.indexOf('.')
    if (dot < 1) return false
    const step = parseInt(nonce.slice(0, dot), 36)
    const now = this.#step()
    if (!(step === now || step === now - 1) || nonce.slice(0, dot) !== step.toString(36)) return false
    const given = Buffer.from(nonce.slice(dot + 1))
    const expected = Buffer.from(this.#mac(step))
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}
