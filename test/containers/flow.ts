// The seed's flow over real HTTP: sign up, call the resource, refresh, log out.
// Shared by the in-process (testcontainers) and the compose test, which differ
// only in where the services run.

export interface TokenPair {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
}

export interface Reply<T = unknown> {
  status: number
  body: T
  headers: Headers
}

async function call<T> (url: string, init: RequestInit = {}): Promise<Reply<T>> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  let body: unknown = text
  try { body = text === '' ? undefined : JSON.parse(text) } catch { /* not JSON: keep the text for the message */ }
  return { status: res.status, body: body as T, headers: res.headers }
}

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body)
})

export const uniqueEmail = (): string => `user-${Date.now()}-${Math.random().toString(36).slice(2, 10)}@example.test`
export const PASSWORD = 'correct horse battery staple 42'

export const signup = (auth: string, email: string, password = PASSWORD) =>
  call<TokenPair & { user: { id: string, email: string } }>(`${auth}/v1/signup`, json({ email, password }))

export const refresh = (auth: string, refreshToken: string) =>
  call<TokenPair>(`${auth}/v1/refresh`, json({ refresh_token: refreshToken }))

export const logout = (auth: string, accessToken: string) =>
  call(`${auth}/v1/logout`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } })

export const me = (resource: string, accessToken: string) =>
  call<{ sub: string, sid: string, scope: string, exp: number }>(`${resource}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } })

/**
 * Polls until `check` returns true, or throws at the deadline naming `what` and the
 * last answer (`check` returns a string to say why it is not there yet).
 */
export async function waitFor (what: string, check: () => Promise<boolean | string>, deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  let last = ''
  for (;;) {
    try {
      const result = await check()
      if (result === true) return
      last = typeof result === 'string' ? `; last: ${result}` : ''
    } catch (err) {
      last = `; last: ${(err as Error).message}`
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Resolves once GET <base>/health/ready answers 200. */
export const waitReady = (base: string, deadlineMs?: number): Promise<void> =>
  waitFor(`${base}/health/ready`, async () => {
    const res = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(2_000) })
    return res.status === 200 || `${res.status} ${await res.text()}`
  }, deadlineMs)

/** A reply body fit for a failure message: token values are replaced by their length. */
export function redact (body: unknown): unknown {
  if (body === null || typeof body !== 'object') return body
  return Object.fromEntries(Object.entries(body).map(([key, value]) =>
    /token/.test(key) && typeof value === 'string' ? [key, `<${value.length} chars>`] : [key, redact(value)]))
}
