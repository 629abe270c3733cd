import t from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { connect } from 'nats'
import { ResourceEnv, loadConfig, redisKeys, type AuthConfig } from '@ratchet/shared'
import { buildApp as buildResource } from '../../../resource/src/app.js'
import { parseKeySet } from '../../src/keys/jwk.js'
import { rotateShared, rotationPolicy } from '../../src/keys/rotate.js'
import { call, decodeJwt, dependencyEnv, eventually, startAuth, startAuthAtIssuer, type Started, testRedis, uniqueEmail } from '../helpers.js'

type Test = { teardown: (fn: () => unknown) => void }
const run = promisify(execFile)
const cli = join(import.meta.dirname, '../../src/keys/cli.ts')

/** The keys CLI as `npm run keys:*` runs it, from sources. */
async function keysCli (args: string[], env: Record<string, string>) {
  return await run(process.execPath, ['--import', 'tsx', '--conditions=ratchet-source', cli, ...args], { env: { ...process.env, ...env } })
}

const envOf = (c: AuthConfig) => Object.fromEntries(['REDIS_URL', 'REDIS_PREFIX', 'ACCESS_TOKEN_ALG', 'ACCESS_TOKEN_TTL', 'CLOCK_LEEWAY', 'KEY_PUBLISH_DELAY', 'KEY_RELOAD_INTERVAL'].map((k) => [k, String(c[k as keyof AuthConfig])]))

const kids = async (url: string): Promise<string[]> => (await call<{ keys: Array<{ kid: string }> }>(`${url}/.well-known/jwks.json`)).body.keys.map((k) => k.kid)

async function loginKid (url: string, email: string): Promise<{ token: string, kid: string }> {
  const r = await call(`${url}/v1/login`, { body: { email, password: 'long-enough' } })
  return { token: r.body.access_token, kid: decodeJwt(r.body.access_token).header.kid }
}

/**
 * A resource service that learns keys only from its periodic JWKS refresh (an
 * unknown kid never triggers a fetch), so a token it accepts proves the key was
 * published before the token was signed.
 */
async function startResource (t: Test, auth: Started): Promise<string> {
  const config = loadConfig(ResourceEnv, dependencyEnv(), {
    REDIS_PREFIX: auth.config.REDIS_PREFIX,
    NATS_STREAM: auth.config.NATS_STREAM,
    NATS_SUBJECT_PREFIX: auth.config.NATS_SUBJECT_PREFIX,
    ISSUER: auth.config.ISSUER,
    ACCESS_TOKEN_TTL: auth.config.ACCESS_TOKEN_TTL,
    CLOCK_LEEWAY: auth.config.CLOCK_LEEWAY,
    LOG_LEVEL: 'silent',
    PORT: 0
  })
  const app = await buildResource(config, { logger: false, retryInterval: 100, jwks: { refreshInterval: 300, minRefreshInterval: 3_600_000 } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await app.close()
    const nc = await connect({ servers: config.NATS_URL })
    try { await (await nc.jetstreamManager()).streams.delete(config.NATS_STREAM) } catch {} finally { await nc.close() }
  })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  await eventually(async () => (await fetch(`${url}/health/ready`)).status === 200 ? true : undefined, 15000, 50)
  return url
}

t.test('keys:rotate publishes the new key before it signs, and tokens of the old key still verify after it', async (t) => {
  const auth = await startAuthAtIssuer(t, { KEY_PUBLISH_DELAY: 3600, KEY_RELOAD_INTERVAL: 1, ACCESS_TOKEN_TTL: 300 })
  const resource = await startResource(t, auth)
  const email = uniqueEmail()
  const signup = await call(`${auth.url}/v1/signup`, { body: { email, password: 'long-enough' } })
  const before = { token: signup.body.access_token as string, kid: decodeJwt(signup.body.access_token).header.kid as string }
  t.equal((await call(`${resource}/v1/me`, { token: before.token })).status, 200)

  const { stdout } = await keysCli(['rotate'], envOf(auth.config))
  const result = JSON.parse(stdout)
  t.type(result.added, 'string')
  t.not(result.added, before.kid)
  t.notMatch(stdout, /privateJwk|"d"/, 'the command never prints private keys')

  await eventually(async () => (await kids(auth.url)).includes(result.added) ? true : undefined, 20000, 100)
  t.equal((await loginKid(auth.url, email)).kid, before.kid, 'published, the new key does not sign yet')

  // the publish delay passes (moved in the stored set rather than waited for an hour)
  const redis = testRedis(auth.config.REDIS_URL, { keyPrefix: auth.config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  const set = parseKeySet((await redis.get(redisKeys.signingKeys())) ?? '', 'stored')
  for (const k of set.access) if (k.kid === result.added) k.notBefore = Date.now()
  await redis.set(redisKeys.signingKeys(), JSON.stringify(set))
  const after = await eventually(async () => { const l = await loginKid(auth.url, email); return l.kid === result.added ? l : undefined }, 20000, 100)

  t.equal((await call(`${resource}/v1/me`, { token: before.token })).status, 200, 'a token signed before the rotation still verifies')
  t.equal((await call(`${resource}/v1/me`, { token: after.token })).status, 200, 'the resource service already knew the new key from its periodic refresh')
  t.ok((await kids(auth.url)).includes(before.kid), 'the old key stays published while its tokens live')
  // the auth service's own Bearer routes look the key up by kid on the ring as it is now
  t.equal((await call(`${auth.url}/v1/sessions`, { token: before.token })).status, 200, 'auth verifies a token of the old key')
  t.equal((await call(`${auth.url}/v1/sessions`, { token: after.token })).status, 200, 'and one of the new key, which did not exist at boot')
})

t.test('a replaced key leaves the JWKS once its tokens have expired, and the next rotation prunes it', async (t) => {
  const auth = await startAuth(t, { KEY_PUBLISH_DELAY: 1, KEY_RELOAD_INTERVAL: 1, ACCESS_TOKEN_TTL: 1, CLOCK_LEEWAY: 0 })
  const email = uniqueEmail()
  const signup = await call(`${auth.url}/v1/signup`, { body: { email, password: 'long-enough' } })
  const oldKid = decodeJwt(signup.body.access_token).header.kid as string
  const redis = testRedis(auth.config.REDIS_URL, { keyPrefix: auth.config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })

  const rotated = await rotateShared(redis, rotationPolicy(auth.config), Date.now())
  t.same(rotated?.removed, [], 'nothing is pruned while the old key still signs')
  const newKid = rotated?.added as string
  await eventually(async () => (await loginKid(auth.url, email)).kid === newKid ? true : undefined, 20000, 100)
  const published = await eventually(async () => { const k = await kids(auth.url); return k.includes(oldKid) ? undefined : k }, 20000, 100)
  t.same(published, [newKid], 'only the signing key is left')

  const pruned = await rotateShared(redis, rotationPolicy(auth.config), Date.now())
  t.same(pruned?.removed, [oldKid])
  const stored = parseKeySet((await redis.get(redisKeys.signingKeys())) ?? '', 'stored')
  t.notOk(stored.access.some((k) => k.kid === oldKid), 'the retired key is gone from Redis as well')
})

t.test('with KEY_ROTATION_INTERVAL set the instances rotate on their own, one new key per interval between them', async (t) => {
  const times = { KEY_ROTATION_INTERVAL: 60, KEY_PUBLISH_DELAY: 59, KEY_RELOAD_INTERVAL: 1 }
  const a = await startAuth(t, times)
  const b = await startAuth(t, { ...a.config, PORT: 0 })
  await eventually(async () => (await kids(a.url)).length === 2 && (await kids(b.url)).length === 2 ? true : undefined, 20000, 100)
  const redis = testRedis(a.config.REDIS_URL, { keyPrefix: a.config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  const stored = parseKeySet((await redis.get(redisKeys.signingKeys())) ?? '', 'stored')
  t.equal(stored.access.length, 2, 'two instances deciding at once added one key, not two')
  t.equal(stored.access.filter((k) => k.notBefore > Date.now()).length, 1, 'the new key waits out its publish delay')
  t.equal((await kids(b.url)).sort().join(), (await kids(a.url)).sort().join(), 'both publish the same keys')
})
