import t from 'tap'
import { redisKeys } from '@ratchet/shared'
import { call, startAuth, testRedis, uniqueEmail } from '../helpers.js'

t.test('an unknown e-mail and a wrong password get the same status and byte-for-byte the same body', async (t) => {
  const { url } = await startAuth(t)
  const email = uniqueEmail()
  await call(`${url}/v1/signup`, { body: { email, password: 'the-right-password' } })
  const raw = async (body: unknown) => {
    const res = await fetch(`${url}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, text: await res.text(), headers: res.headers }
  }
  const wrong = await raw({ email, password: 'the-wrong-password' })
  const unknown = await raw({ email: uniqueEmail(), password: 'the-wrong-password' })
  t.equal(wrong.status, 401)
  t.equal(unknown.status, 401)
  t.equal(wrong.text, unknown.text)
  t.match(JSON.parse(wrong.text), { code: 'RATCHET_INVALID_CREDENTIALS' })
  t.not(wrong.headers.get('x-request-id'), unknown.headers.get('x-request-id'), 'the request id travels in a header')
})

t.test('login accepts the address in any case and with surrounding spaces', async (t) => {
  const { url } = await startAuth(t)
  const email = uniqueEmail()
  await call(`${url}/v1/signup`, { body: { email, password: 'the-right-password' } })
  const res = await call(`${url}/v1/login`, { body: { email: ` ${email.toUpperCase()}\t`, password: 'the-right-password' } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('cache-control'), 'no-store')
})

t.test('passwords are compared after NFKC normalisation', async (t) => {
  const { url } = await startAuth(t)
  const email = uniqueEmail()
  // U+FB01 (the "fi" ligature) is NFKC-equal to "fi"
  await call(`${url}/v1/signup`, { body: { email, password: 'pass\uFB01ngerprint' } })
  const res = await call(`${url}/v1/login`, { body: { email, password: 'passfingerprint' } })
  t.equal(res.status, 200)
})

t.test('a hash made with weaker parameters is upgraded at the next successful login', async (t) => {
  const weak = await startAuth(t, { ARGON2_TIME_COST: 2 })
  const email = uniqueEmail()
  await call(`${weak.url}/v1/signup`, { body: { email, password: 'upgrade-me-please' } })
  const strong = await startAuth(t, { ARGON2_TIME_COST: 3, REDIS_PREFIX: weak.config.REDIS_PREFIX })
  const redis = testRedis(weak.config.REDIS_URL, { keyPrefix: weak.config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  t.match(await redis.hget(redisKeys.email(email), 'hash'), /\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  const wrong = await call(`${strong.url}/v1/login`, { body: { email, password: 'not-the-password' } })
  t.equal(wrong.status, 401)
  t.match(await redis.hget(redisKeys.email(email), 'hash'), /t=2,/, 'a failed login changes nothing')
  const ok = await call(`${strong.url}/v1/login`, { body: { email, password: 'upgrade-me-please' } })
  t.equal(ok.status, 200)
  t.match(await redis.hget(redisKeys.email(email), 'hash'), /\$argon2id\$v=19\$m=19456,t=3,p=1\$/)
  const again = await call(`${weak.url}/v1/login`, { body: { email, password: 'upgrade-me-please' } })
  t.equal(again.status, 200, 'the upgraded hash still verifies')
})

t.test('Redis stores no usable token: neither token appears in any key or value', async (t) => {
  const { url, config } = await startAuth(t)
  const res = await call(`${url}/v1/signup`, { body: { email: uniqueEmail(), password: 'no-tokens-in-redis' } })
  const redis = testRedis(config.REDIS_URL)
  t.teardown(() => { redis.disconnect() })
  const keys = await redis.keys(`${config.REDIS_PREFIX}*`)
  let dump = keys.join('\n')
  for (const key of keys) {
    const type = await redis.type(key)
    if (type === 'hash') dump += JSON.stringify(await redis.hgetall(key))
    else if (type === 'string') dump += await redis.get(key)
    else if (type === 'zset') dump += (await redis.zrange(key, 0, -1)).join(',')
    else if (type === 'stream') dump += JSON.stringify(await redis.xrange(key, '-', '+'))
  }
  const signature = (jwt: string) => jwt.split('.')[2] ?? ''
  t.notOk(dump.includes(signature(res.body.refresh_token)), 'no refresh token signature')
  t.notOk(dump.includes(signature(res.body.access_token)), 'no access token signature')
  t.notOk(dump.includes('no-tokens-in-redis'), 'no password')
})
