import { SETTINGS } from './settings.js'
import type { Config } from './types.js'

const RESTART = 'is read at start; this change needs a restart (the running configuration is kept)'

/** What the routes built once at start read of the issuer list (back-channel logout, global revocation, admin role, SSF, RFC 9728 metadata). */
function builtFromIssuers (config: Config): string {
  return JSON.stringify({
    adminRole: config.adminRole,
    resourceMetadata: config.resourceMetadata,
    ssf: config.ssf,
    idp: config.jwt.issuers.filter((entry) => entry.backchannelLogout !== null || entry.globalTokenRevocation !== null)
      .map(({ issuer, jwksUrl, discoveryUrl, backchannelLogout, globalTokenRevocation }) => ({ issuer, jwksUrl, discoveryUrl, backchannelLogout, globalTokenRevocation }))
  })
}

/**
 * The problems that refuse a reload from `current` to `next` although `next` is valid: a setting
 * that cannot change live changed (ports, Redis, limits, ... every setting not `live` in
 * settings.ts), or a live one changed something built once at start.
 */
export function restartNeeded (current: Config, next: Config): string[] {
  const problems: string[] = []
  for (const { name, live } of SETTINGS) {
    if (!live && (current.source.settings[name] ?? '') !== (next.source.settings[name] ?? '')) problems.push(`${name}: ${RESTART}`)
  }
  if (problems.length > 0) return problems
  if ((current.jwt.signing === null) !== (next.jwt.signing === null)) {
    problems.push(`JWT_SECRET: ${next.jwt.signing === null ? 'removing' : 'adding'} the key tokengate signs with (refresh) ${RESTART}`)
  }
  if (builtFromIssuers(current) !== builtFromIssuers(next)) {
    problems.push(`JWT_ISSUERS: the change reaches what is built at start (an issuer's backchannel_logout, global_token_revocation or grants_admin, SSF transmitters, RESOURCE_URL's authorization_servers), which ${RESTART}`)
  }
  return problems
}
