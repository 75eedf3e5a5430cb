import { createHmac, timingSafeEqual } from 'node:crypto'

/** How long one nonce is issued for; a nonce is accepted during its step and the next one. */
export const NONCE_STEP_S = 60

/** A nonce accepted: of the current step, or of the previous one (the client should get a fresh one, §8.2). */
export type NonceAge = 'current' | 'previous'

interface StepMac {
  readonly step: number
  readonly mac: Buffer
  readonly nonce: string
}

/**
 * RFC 9449 §9 resource-server nonces that every replica accepts without sharing state: a nonce
 * is a time step and an HMAC of it under DPOP_NONCE_SECRET, which every replica holds. A nonce
 * is accepted in its own step and the next (60 to 120 s), so a client that fetched one just
 * before a step ends is not refused at once. The MACs of the current and previous steps are
 * computed once per step, not per request.
 */
export class DpopNonces {
  readonly #secret: Buffer
  readonly #now: () => number
  /** The current step's nonce and the previous step's, computed once per step. */
  #steps: { readonly current: StepMac, readonly previous: StepMac } | null = null

  constructor (secret: string, now: () => number = Date.now) {
    this.#secret = Buffer.from(secret)
    this.#now = now
  }

  #of (step: number): StepMac {
    const mac = createHmac('sha256', this.#secret).update(`tokengate-dpop-nonce:${step}`).digest('base64url').slice(0, 32)
    return { step, mac: Buffer.from(mac), nonce: `${step.toString(36)}.${mac}` }
  }

  #stepsNow (): { readonly current: StepMac, readonly previous: StepMac } {
    const step = Math.floor(this.#now() / 1000 / NONCE_STEP_S)
    const steps = this.#steps
    if (steps !== null && steps.current.step === step) return steps
    // One step on, the current nonce becomes the previous one: one HMAC per step.
    this.#steps = { current: this.#of(step), previous: steps?.current.step === step - 1 ? steps.current : this.#of(step - 1) }
    return this.#steps
  }

  /** The nonce to hand out now (a DPoP-Nonce header): base64url characters and one dot. */
  current (): string {
    return this.#stepsNow().current.nonce
  }

  /** Whether `nonce` is accepted now, and of which step; null when it is not. */
  age (nonce: string | undefined): NonceAge | null {
    if (nonce === undefined || nonce.length > 64) return null
    const dot = nonce.indexOf('.')
    if (dot < 1) return null
    const step = parseInt(nonce.slice(0, dot), 36)
    const { current, previous } = this.#stepsNow()
    const expected = step === current.step ? current : step === previous.step ? previous : null
    if (expected === null || nonce.slice(0, dot) !== step.toString(36)) return null
    const given = Buffer.from(nonce.slice(dot + 1))
    if (given.length !== expected.mac.length || !timingSafeEqual(given, expected.mac)) return null
    return expected === current ? 'current' : 'previous'
  }

  valid (nonce: string | undefined): boolean {
    return this.age(nonce) !== null
  }
}
