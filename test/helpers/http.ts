export interface JsonResponse {
  readonly status: number
  readonly headers: Headers
  readonly body: any
  readonly text: string
}

/** fetch that reads the body once and parses JSON when there is any. */
export async function call (url: string, init: RequestInit & { token?: string, json?: unknown, form?: Record<string, string> } = {}): Promise<JsonResponse> {
  const headers = new Headers(init.headers)
  if (init.token !== undefined) headers.set('authorization', `Bearer ${init.token}`)
  let body = init.body
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json')
    body = JSON.stringify(init.json)
  } else if (init.form !== undefined) {
    headers.set('content-type', 'application/x-www-form-urlencoded')
    body = new URLSearchParams(init.form).toString()
  }
  const res = await fetch(url, { ...init, headers, body })
  const text = await res.text()
  let parsed: unknown = null
  try { parsed = text === '' ? null : JSON.parse(text) } catch { parsed = null }
  return { status: res.status, headers: res.headers, body: parsed, text }
}

export function basic (id: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64')
}
