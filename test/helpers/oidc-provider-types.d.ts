// The part of panva's oidc-provider (which ships no types) that test/helpers/oidc-provider.ts uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http'

  export default class Provider {
    constructor (issuer: string, configuration: Record<string, unknown>)
    callback (): (req: IncomingMessage, res: ServerResponse) => void
    /** A registered client; backchannelLogout is what end_session runs for each client of a session. */
    readonly Client: { find: (id: string) => Promise<{ backchannelLogout: (sub: string, sid: string) => Promise<void> } | undefined> }
  }
}
