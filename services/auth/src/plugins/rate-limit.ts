import { createHash } from 'node:crypto'
import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify'
import type { Redis } from 'ioredis'
import { errors, redisKeys, type AuthConfig } from '@ratchet/shared'
import { normaliseEmail } from '../stores/users.js'
import type { KeyRing } from '../keys/ring.js'
import { createLoginBackoff } from '../stores/login-backoff.js'
import { createDeviceCookies, DEVICE_COOKIE } from './device-cookie.js'

export interface RateLimitOptions {
  config: AuthConfig
  /** the service's shared client: counters live in Redis so every instance sees the same ones */
  redis: Redis
  /** the key ring of the moment, whose refresh secret the device cookies' MAC key derives from */
  ring: () => KeyRing
  /** the service's clock (ms): the back-off and the device cookies follow it, so tests can move it */
  now?: () => number
}

/** Which budget a login attempt is counted in: the account's shared one, or the account on a known device. */
interface Budget { rateKey: string, failureKey: string, device: string | undefined, counted: boolean }

type Limited = Pick<AuthConfig, 'RATE_LIMIT_LOGIN_PER_IP' | 'RATE_LIMIT_SIGNUP_PER_IP' | 'RATE_LIMIT_REFRESH_PER_IP'>

/** Per client IP, per route: the table the whole policy hangs on. */
const perIp: Record<string, keyof Limited> = {
  'POST /v1/login': 'RATE_LIMIT_LOGIN_PER_IP',
  'POST /v1/signup': 'RATE_LIMIT_SIGNUP_PER_IP',
  'POST /v1/refresh': 'RATE_LIMIT_REFRESH_PER_IP',
  'POST /oauth/token': 'RATE_LIMIT_REFRESH_PER_IP'
}

const emailOf = (request: FastifyRequest) => normaliseEmail((request.body as { email: string }).email)
/** a hash, not the address: rate-limit keys need not hold personal data */
const accountKey = (email: string) => 'account:' + createHash('sha256').update(email).digest('base64url').slice(0, 22)

function retry (reply: FastifyReply, ms: number): number {
  const seconds = Math.max(1, Math.ceil(ms / 1000))
  reply.header('retry-after', String(seconds))
  return seconds
}

/**
 * Brute-force limits (RATE_LIMITS=on): per-IP limits on the credential routes,
 * a per-account limit on login, and an exponential per-account backoff after
 * failed logins. Counters live in Redis; with Redis away these routes answer
 * 503 like the rest of the service (they need Redis anyway), never 500 and
 * never unlimited.
 */
async function rateLimitPlugin (app: FastifyInstance, { config, redis, ring, now = Date.now }: RateLimitOptions) {
  if (config.RATE_LIMITS === 'off') return
  const windowMs = config.RATE_LIMIT_WINDOW * 1000

  // before @fastify/rate-limit's own onRoute hook, which reads config.rateLimit
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const limit = methods.map((m) => perIp[`${m} ${route.url}`]).find((l) => l !== undefined)
    if (limit === undefined) return
    route.config = { ...route.config, rateLimit: { max: config[limit], timeWindow: windowMs } }
    if (route.url === '/v1/login') guardLogin(route)
  })

  await app.register(rateLimit, {
    global: false,
    redis,
    nameSpace: 'rate-limit:',
    // fail closed: the error handler turns Redis being away into 503
    skipOnError: false,
    errorResponseBuilder: (_request, context) => new errors.RATCHET_RATE_LIMITED(Math.ceil((context as { ttl: number }).ttl / 1000))
  })

  const budgets = new WeakMap<FastifyRequest, Budget>()
  const devices = createDeviceCookies({ ring, maxAgeMs: config.DEVICE_COOKIE_TTL * 1000 })
  const perAccount = app.createRateLimit({ max: config.RATE_LIMIT_LOGIN_PER_ACCOUNT, timeWindow: windowMs, keyGenerator: (request) => budgets.get(request)?.rateKey ?? accountKey(emailOf(request)) })
  const backoff = createLoginBackoff(redis, { free: config.LOGIN_FREE_FAILURES, maxMs: config.LOGIN_BACKOFF_MAX * 1000, ttlMs: config.LOGIN_FAILURE_TTL * 1000 })

  function budgetOf (request: FastifyRequest): Budget {
    const email = emailOf(request)
    const account = accountKey(email)
    // a valid cookie of this account from an earlier successful login: its own budget (OWASP device cookies)
    const device = devices.deviceOf(request.cookies[DEVICE_COOKIE], account, now())
    return device === undefined
      ? { rateKey: account, failureKey: redisKeys.loginFailures(email), device, counted: false }
      : { rateKey: `${account}:device:${device}`, failureKey: redisKeys.deviceLoginFailures(email, device), device, counted: false }
  }

  function guardLogin (route: RouteOptions) {
    const before = async (request: FastifyRequest, reply: FastifyReply) => {
      // after validation, so the e-mail is there; before argon2, so a refused try costs nothing
      const budget = budgetOf(request)
      budgets.set(request, budget)
      const account = await perAccount(request)
      if (!account.isAllowed && account.isExceeded) throw new errors.RATCHET_RATE_LIMITED(retry(reply, account.ttl))
      // the wait is checked and this try counted as a failure in one step;
      // refused tries are not counted: hammering a waiting account does not lengthen its wait
      const wait = await backoff.attempt(budget.failureKey, now())
      if (wait > 0) throw new errors.RATCHET_LOGIN_THROTTLED(retry(reply, wait))
      budget.counted = true
    }
    // onSend, not onResponse: the outcome is settled before the client hears of it
    const after = async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const budget = budgets.get(request)
      if (budget === undefined || !budget.counted) return payload
      if (reply.statusCode === 200) {
        await backoff.succeeded(budget.failureKey)
        // a browser that signed in gets (or keeps) its device cookie; set here,
        // after the cookie plugin's own onSend, so it is appended by hand
        if (budget.device === undefined) {
          const value = devices.issue(budget.rateKey, now())
          reply.header('set-cookie', app.serializeCookie(DEVICE_COOKIE, value, { path: '/', httpOnly: true, secure: true, sameSite: 'strict', maxAge: devices.maxAgeSeconds }))
        }
      } else if (reply.statusCode !== 401) {
        // neither outcome (the service could not check the password): not a failure
        await backoff.refund(budget.failureKey)
      }
      return payload
    }
    route.preHandler = [...[route.preHandler ?? []].flat(), before]
    route.onSend = [...[route.onSend ?? []].flat(), after]
  }
}

export default fp(rateLimitPlugin, { name: 'ratchet-rate-limit', fastify: '5.x' })
