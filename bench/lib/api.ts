import { randomBytes } from 'node:crypto'
import type { TokenResponse } from '@ratchet/shared'

/** Minimal client for setting up a scenario (not the measured path). */
async function call (url: string, init: RequestInit, expect: number): Promise<unknown> {
  const res = await fetch(url, init)
  const text = await res.text()
  if (res.status !== expect) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 200)}`)
  return text === '' ? null : JSON.parse(text) as unknown
}
const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

export const PASSWORD = 'correct horse battery staple'
export const newEmail = (): string => `bench-${randomBytes(6).toString('hex')}@example.com`

export async function signup (auth: string, email = newEmail()): Promise<TokenResponse & { user: { id: string, email: string } }> {
  return await call(`${auth}/v1/signup`, json({ email, password: PASSWORD }), 201) as TokenResponse & { user: { id: string, email: string } }
}
export async function login (auth: string, email: string): Promise<TokenResponse> {
  return await call(`${auth}/v1/login`, json({ email, password: PASSWORD }), 200) as TokenResponse
}
export async function refresh (auth: string, refreshToken: string): Promise<TokenResponse> {
  return await call(`${auth}/v1/refresh`, json({ refresh_token: refreshToken }), 200) as TokenResponse
}
export async function me (resource: string, accessToken: string): Promise<Record<string, unknown>> {
  return await call(`${resource}/v1/me`, { headers: { authorization: `Bearer ${accessToken}` } }, 200) as Record<string, unknown>
}
export async function jwks (auth: string): Promise<{ keys: Array<Record<string, unknown>> }> {
  return await call(`${auth}/.well-known/jwks.json`, {}, 200) as { keys: Array<Record<string, unknown>> }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T, R> (items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return out
}

export function decodeJwt (token: string): { header: Record<string, unknown>, payload: Record<string, unknown> } {
  const [h = '', p = ''] = token.split('.')
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>, payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown> }
}
