import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { connect } from 'nats'
import { freePort, ROOT, startNode, waitHttp, type Child } from './proc.js'

/**
 * The product's services, run from their build (`node services/x/dist/server.js`)
 * with a configuration of their own: a dedicated Redis prefix and NATS stream, so a
 * run never touches anyone else's keys and can delete everything afterwards.
 */
export interface Env {
  prefix: string
  stream: string
  subjects: string
  base: Record<string, string>
}

export function benchEnv (): Env {
  const id = randomBytes(3).toString('hex')
  // As long as the default `ratchet:`, so MEMORY USAGE per session is what production sees.
  const prefix = `b${id}:`
  const stream = `BENCH_${id}`
  const subjects = `bench_${id}`
  return {
    prefix,
    stream,
    subjects,
    base: {
      HOST: '127.0.0.1',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      REDIS_PREFIX: prefix,
      NATS_STREAM: stream,
      NATS_SUBJECT_PREFIX: subjects,
      AUDIENCE: 'ratchet-api',
      RATE_LIMITS: 'off',
      // Per-request logging would measure pino, not the product; warnings still show.
      LOG_LEVEL: 'warn'
    }
  }
}

export const serverScript = (svc: 'auth' | 'resource'): string => join(ROOT, 'services', svc, 'dist', 'server.js')
export const productBuilt = (): boolean => existsSync(serverScript('auth')) && existsSync(serverScript('resource'))

export interface Service extends Child { url: string, port: number }

export async function startService (svc: 'auth' | 'resource', env: Env, opts: { cpu: number, port?: number, extra?: Record<string, string>, nodeArgs?: string[] }): Promise<Service> {
  const port = opts.port ?? await freePort()
  const child = startNode(svc, serverScript(svc), {
    cpu: opts.cpu,
    env: { ...env.base, PORT: String(port), ...opts.extra },
    ...(opts.nodeArgs ? { nodeArgs: opts.nodeArgs } : {})
  })
  const url = `http://127.0.0.1:${port}`
  try {
    await waitHttp(child, `${url}/health/ready`, 90_000)
  } catch (err) {
    await child.stop()
    throw err
  }
  return { ...child, url, port }
}

/** Starts auth and resource against the same prefix/stream; the issuer is the auth URL. */
export async function startPair (env: Env, cpus: { auth: number, resource: number },
  extra: { auth?: Record<string, string>, resource?: Record<string, string> } = {},
  nodeArgs: { auth?: string[], resource?: string[] } = {}): Promise<{ auth: Service, resource: Service }> {
  await ensureStream(env)
  const authPort = await freePort()
  const issuer = `http://127.0.0.1:${authPort}`
  const auth = await startService('auth', env, { cpu: cpus.auth, port: authPort, extra: { ISSUER: issuer, ...extra.auth }, ...(nodeArgs.auth ? { nodeArgs: nodeArgs.auth } : {}) })
  try {
    const resource = await startService('resource', env, { cpu: cpus.resource, extra: { ISSUER: issuer, JWKS_URL: `${issuer}/.well-known/jwks.json`, ...extra.resource }, ...(nodeArgs.resource ? { nodeArgs: nodeArgs.resource } : {}) })
    return { auth, resource }
  } catch (err) {
    await auth.stop()
    throw err
  }
}

/**
 * Creates the run's event stream when missing. The auth service does this too; doing
 * it here as well means a resource service started first never waits on it.
 */
export async function ensureStream (env: Env): Promise<void> {
  const nc = await connect({ servers: env.base.NATS_URL! })
  try {
    const jsm = await nc.jetstreamManager()
    try {
      await jsm.streams.info(env.stream)
    } catch {
      await jsm.streams.add({ name: env.stream, subjects: [`${env.subjects}.events.>`], max_age: 86_400 * 1e9 })
    }
  } finally {
    await nc.close()
  }
}

/** Deletes every key under the run's prefix and its NATS stream. */
export async function cleanup (env: Env): Promise<number> {
  const redis = new Redis(env.base.REDIS_URL!)
  let deleted = 0
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.prefix}*`, 'COUNT', 5000)
      cursor = next
      if (keys.length > 0) deleted += await redis.unlink(...keys)
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
  try {
    const nc = await connect({ servers: env.base.NATS_URL! })
    const jsm = await nc.jetstreamManager()
    await jsm.streams.delete(env.stream).catch(() => false)
    await nc.close()
  } catch { /* NATS unreachable: nothing of ours to delete there */ }
  return deleted
}
