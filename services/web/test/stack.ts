// What the browser tests run against: the auth, resource and web services in this
// process on real ports of localhost (the page's origin and the services' are the
// same site, as in production behind one domain), over the machine's Redis and
// NATS with their own prefix and stream, and Debian's Chromium driven by
// playwright-core (never a downloaded browser).
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import type { Test as TapTest } from 'tap'
import { AuthEnv, loadConfig, ResourceEnv, type AuthConfig } from '@ratchet/shared'
import { buildApp as buildAuth } from '../../auth/src/app.js'
import { buildApp as buildResource } from '../../resource/src/app.js'
import { buildApp as buildWeb } from '../src/app.js'
import { buildPage } from '../src/build.js'
// the addresses `npm test` chose
import { dependencyEnv } from '../../auth/test/helpers.js'
import { isolatedDependencies } from '../../../shared/client/test/services.js'

type Test = { teardown: (fn: () => unknown) => void }

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing (): string | null {
  return existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`
}

/**
 * Runs a file's browser tests when Chromium is here; otherwise the file is one
 * skipped test that says what is missing (never a silent pass).
 */
export async function ifChromium (t: Pick<TapTest, 'comment' | 'pass'>, suite: () => Promise<void>): Promise<void> {
  const missing = chromiumMissing()
  if (missing === null) return await suite()
  t.comment(`browser tests skipped: ${missing}`)
  t.pass(`skipped: ${missing}`, { skip: missing })
}

/**
 * Debian's Chromium, headless, sandbox off (containers), and quiet: nothing it does
 * on its own (updates, sync, field trials) reaches the network. playwright-core
 * gives it a fresh --user-data-dir of its own for every launch.
 */
export async function launchChromium (t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  t.teardown(() => browser.close())
  return browser
}

export async function eventually (check: () => boolean | Promise<boolean>, deadlineMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + deadlineMs
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${deadlineMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** One POST /v1/refresh as the auth service saw it. */
export interface RefreshSeen {
  at: number
  /** Age (ms) of the refresh token presented, from its `iat`: a repeated refresh presents one just issued. */
  presentedAgeMs: number | null
  status: number
}

export interface Stack {
  webUrl: string
  authUrl: string
  resourceUrl: string
  /** Every refresh the auth service answered, in order. */
  refreshes: RefreshSeen[]
  /** Every refresh token the auth service handed out (in its cookie). */
  issued: Set<string>
}

const REFRESH_COOKIE = '__Host-ratchet_rt'

function iatOf (jwt: string): number | null {
  try {
    const iat = (JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as { iat?: unknown }).iat
    return typeof iat === 'number' ? iat : null
  } catch {
    return null
  }
}

/**
 * Auth, resource and web on free ports of localhost. `auth` overrides the auth
 * service's settings; `webOrigin` is what both services allow (the web app's own
 * origin unless a test wants it wrong); `webHost` where the web app listens.
 */
export async function startStack (t: Test, opts: { auth?: Partial<AuthConfig>, webOrigin?: (webUrl: string) => string, webHost?: string } = {}): Promise<Stack> {
  const [authPort, resourcePort, webPort] = [await freePort(), await freePort(), await freePort()]
  const authUrl = `http://localhost:${authPort}`
  const resourceUrl = `http://localhost:${resourcePort}`
  const webUrl = `http://localhost:${webPort}`
  const shared = {
    ...await isolatedDependencies(t, 'web'),
    ISSUER: authUrl,
    WEB_ORIGIN: opts.webOrigin?.(webUrl) ?? webUrl,
    LOG_LEVEL: 'silent' as const
  }

  const refreshes: RefreshSeen[] = []
  const issued = new Set<string>()
  const auth = await buildAuth(loadConfig(AuthEnv, dependencyEnv(), { ...shared, PORT: authPort, RATE_LIMITS: 'off', ...opts.auth }), { logger: false })
  auth.addHook('onResponse', async (request, reply) => {
    if (request.method !== 'POST' || request.url !== '/v1/refresh') return
    const presented = request.cookies[REFRESH_COOKIE]
    const iat = presented === undefined ? null : iatOf(presented)
    refreshes.push({ at: Date.now(), presentedAgeMs: iat === null ? null : Date.now() - iat * 1000, status: reply.statusCode })
  })
  auth.addHook('onSend', async (_request, reply, payload) => {
    const set = reply.getHeader('set-cookie')
    for (const line of Array.isArray(set) ? set : set === undefined ? [] : [String(set)]) {
      const value = /^__Host-ratchet_rt=([^;]*)/.exec(line)?.[1]
      if (value !== undefined && value !== '') issued.add(value)
    }
    return payload
  })
  t.teardown(() => auth.close())
  await auth.listen({ host: 'localhost', port: authPort })

  const resource = await buildResource(loadConfig(ResourceEnv, dependencyEnv(), { ...shared, PORT: resourcePort, JWKS_URL: `http://127.0.0.1:${authPort}/.well-known/jwks.json`, ACCESS_TOKEN_TTL: opts.auth?.ACCESS_TOKEN_TTL ?? 900, CLOCK_LEEWAY: opts.auth?.CLOCK_LEEWAY ?? 5 }), { logger: false, retryInterval: 100 })
  t.teardown(() => resource.close())
  await resource.listen({ host: 'localhost', port: resourcePort })

  const publicDir = await mkdtemp(join(tmpdir(), 'ratchet-web-'))
  t.teardown(() => rm(publicDir, { recursive: true, force: true }))
  await buildPage(publicDir)
  const web = await buildWeb({ HOST: 'localhost', PORT: webPort, AUTH_URL: authUrl, RESOURCE_URL: resourceUrl, LOG_LEVEL: 'silent' }, { logger: false, publicDir })
  t.teardown(() => web.close())
  await web.listen({ host: opts.webHost ?? 'localhost', port: webPort })

  await eventually(async () => (await fetch(`http://127.0.0.1:${resourcePort}/health/ready`)).status === 200, 20_000, 'resource service ready')
  return { webUrl, authUrl, resourceUrl, refreshes, issued }
}

/** Collects what a page reports as errors: console errors and uncaught exceptions. */
export function consoleErrors (page: Page, into: string[]): void {
  page.on('console', (message) => { if (message.type() === 'error') into.push(`${page.url()}: ${message.text()}`) })
  page.on('pageerror', (error) => { into.push(`${page.url()}: uncaught ${error.message}`) })
}
