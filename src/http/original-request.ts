import type { FastifyRequest } from 'fastify'

export interface OriginalRequest {
  readonly method: string
  readonly path: string
}

function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value
}

/**
 * The request a forward-auth sub-request stands for: Traefik sends
 * X-Forwarded-Method/-Uri, nginx (by convention) X-Original-Method/-URI. Only a
 * trusted proxy is believed; from anyone else these headers are ignored, so a
 * client cannot turn a private path into a public one.
 */
export function originalRequest (request: FastifyRequest, trusted: boolean): OriginalRequest | null {
  if (!trusted) return null
  const { headers } = request
  const uri = single(headers['x-forwarded-uri']) ?? single(headers['x-original-uri'])
  if (uri === undefined || !uri.startsWith('/')) return null
  const method = single(headers['x-forwarded-method']) ?? single(headers['x-original-method']) ?? 'GET'
  const q = uri.search(/[?#]/)
  return { method: method.toUpperCase(), path: q === -1 ? uri : uri.slice(0, q) }
}
