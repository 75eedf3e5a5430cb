import type { SubjectFormat } from './options.js'

/** What a SET's subject names, in the terms marks are kept in. */
export interface MappedSubject {
  /** Identifiers compared with the token's `sub` (several for `aliases`). */
  readonly users: readonly string[]
  /** Values of the issuer's session claim. */
  readonly sessions: readonly string[]
}

/** Why a subject names nothing tokengate can revoke: refused, never a silent acknowledgement. */
export interface UnmappedSubject { readonly unmapped: string }

export interface SubjectMapping {
  readonly userFormats: readonly SubjectFormat[]
  readonly subjectIssuers: readonly string[]
}

type Json = Record<string, unknown>

const MAX_ID_LENGTH = 512
const MAX_ALIASES = 16

function isObject (value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

// As claims.ts isId: a mark written for a lone surrogate would never match a token again.
function isId (value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH && value.isWellFormed()
}

/** RFC 9493 §3.2: the member holding each simple format's identifier. */
const IDENTIFIER_MEMBER: Readonly<Record<SubjectFormat, string>> = {
  iss_sub: 'sub',
  email: 'email',
  opaque: 'id',
  phone_number: 'phone_number',
  account: 'uri',
  did: 'url',
  uri: 'uri'
}

/** The token `sub` a simple user identifier maps to, or why it does not. */
function userOf (subject: Json, mapping: SubjectMapping): string | UnmappedSubject {
  const format = subject.format
  if (typeof format !== 'string' || !Object.hasOwn(IDENTIFIER_MEMBER, format)) {
    return { unmapped: `subject format ${typeof format === 'string' ? `"${format.slice(0, 32)}"` : '(none)'} is not one tokengate maps` }
  }
  const value = subject[IDENTIFIER_MEMBER[format as SubjectFormat]]
  if (!isId(value)) return { unmapped: `the ${format} subject has no usable identifier` }
  if (!mapping.userFormats.includes(format as SubjectFormat)) {
    return { unmapped: `${format} subjects are not mapped to the token's sub for this transmitter (subjects.user_formats)` }
  }
  if (format === 'iss_sub' && !mapping.subjectIssuers.includes(String(subject.iss))) {
    return { unmapped: 'the iss_sub subject names an issuer this transmitter does not speak for (subjects.iss_sub_issuers)' }
  }
  return value
}

/** A session subject: RFC 9493 `opaque` holds the session claim's value (CAEP 1.0 §3.1, SSF 1.0 §3.2). */
function sessionOf (subject: unknown): string | UnmappedSubject {
  if (!isObject(subject) || subject.format !== 'opaque' || !isId(subject.id)) return { unmapped: 'the session subject is not an opaque id' }
  return subject.id
}

function users (subject: Json, mapping: SubjectMapping): string[] | UnmappedSubject {
  if (subject.format === 'aliases') {
    // RFC 9493 §3.2.1: every identifier names the same subject; each one that maps is revoked.
    const identifiers = subject.identifiers
    if (!Array.isArray(identifiers) || identifiers.length === 0 || identifiers.length > MAX_ALIASES) return { unmapped: 'the aliases subject has no usable identifiers' }
    const mapped = identifiers.map((identifier) => isObject(identifier) && identifier.format !== 'aliases' ? userOf(identifier, mapping) : { unmapped: 'an alias is not a simple subject' })
    const found = mapped.filter((value): value is string => typeof value === 'string')
    return found.length > 0 ? [...new Set(found)] : mapped[0] as UnmappedSubject
  }
  const one = userOf(subject, mapping)
  return typeof one === 'string' ? [one] : one
}

/**
 * A SET's subject (RFC 9493, or SSF 1.0 §3.2 `complex` with `user` and `session` members; the
 * `format` of a complex subject may be omitted, as in CAEP before SSF 1.0) mapped onto marks.
 */
export function mapSubject (subject: unknown, mapping: SubjectMapping): MappedSubject | UnmappedSubject {
  if (!isObject(subject)) return { unmapped: 'the SET names no subject (sub_id)' }
  const complex = subject.format === 'complex' || (subject.format === undefined && (subject.user !== undefined || subject.session !== undefined))
  if (!complex) {
    const found = users(subject, mapping)
    return Array.isArray(found) ? { users: found, sessions: [] } : found
  }
  const user = subject.user === undefined ? [] : isObject(subject.user) ? users(subject.user, mapping) : { unmapped: 'the user member is not a subject' }
  const session = subject.session === undefined ? null : sessionOf(subject.session)
  if (!Array.isArray(user)) return user
  if (session !== null && typeof session !== 'string') return session
  if (user.length === 0 && session === null) return { unmapped: 'the complex subject names neither a user nor a session' }
  return { users: user, sessions: session === null ? [] : [session] }
}

export function isUnmapped (value: MappedSubject | UnmappedSubject): value is UnmappedSubject {
  return 'unmapped' in value
}
