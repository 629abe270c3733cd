// Redis and NATS JetStream in throw-away containers (testcontainers), both services
// in this process against them on real sockets, and the seed's flow end to end.
// Skips, with the reason, where no container engine runs.
import t from 'tap'
import { AuthEnv, ResourceEnv, loadConfig } from '@ratchet/shared'
import { engineUnavailable } from './engine.ts'
import { logout, me, redact, refresh, signup, uniqueEmail, waitFor, waitReady } from './flow.ts'

t.setTimeout(5 * 60_000)

const unavailable = await engineUnavailable()
if (unavailable) {
  t.comment(`SKIP ${unavailable}`)
  t.plan(0, unavailable)
} else {
  // Loaded only where an engine runs: the modules are not needed to skip.
  const { GenericContainer, Wait } = await import('testcontainers')
  const { RedisContainer } = await import('@testcontainers/redis')
  const { buildApp: buildAuth } = await import('../../services/auth/src/app.ts')
  const { buildApp: buildResource } = await import('../../services/resource/src/app.ts')

  const redis = await new RedisContainer('redis:7').start()
  t.teardown(() => redis.stop())
  const nats = await new GenericContainer('nats:2.10')
    .withCommand(['-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start()
  t.teardown(() => nats.stop())

  const deps = {
    HOST: '127.0.0.1',
    PORT: 0,
    REDIS_URL: redis.getConnectionUrl(),
    NATS_URL: [`nats://${nats.getHost()}:${nats.getMappedPort(4222)}`],
    LOG_LEVEL: 'silent' as const
  }

  const auth = await buildAuth(loadConfig(AuthEnv, {}, deps))
  t.teardown(() => auth.close())
  await auth.listen({ host: deps.HOST, port: 0 })
  const AUTH = `http://127.0.0.1:${portOf(auth.server.address())}`

  const resource = await buildResource(loadConfig(ResourceEnv, {}, { ...deps, JWKS_URL: `${AUTH}/.well-known/jwks.json` }))
  t.teardown(() => resource.close())
  await resource.listen({ host: deps.HOST, port: 0 })
  const RESOURCE = `http://127.0.0.1:${portOf(resource.server.address())}`

  let ready = false
  t.test('both services become ready against the containers', async (t) => {
    await waitReady(AUTH)
    await waitReady(RESOURCE)
    ready = true
    t.pass('auth and resource answer 200 on /health/ready')
  })

  t.test('signup, resource call, refresh and logout work end to end', async (t) => {
    if (!ready) return t.fail('the services never became ready: the flow cannot run')
    const signed = await signup(AUTH, uniqueEmail())
    t.equal(signed.status, 201, 'signup answers 201', { body: redact(signed.body) })
    t.match(signed.body, { access_token: String, refresh_token: String, token_type: 'Bearer' })

    const who = await me(RESOURCE, signed.body.access_token)
    t.equal(who.status, 200, 'me answers 200', { body: redact(who.body) })
    t.equal(who.body.sub, signed.body.user.id)

    const next = await refresh(AUTH, signed.body.refresh_token)
    t.equal(next.status, 200, 'refresh answers 200', { body: redact(next.body) })
    t.not(next.body.refresh_token, signed.body.refresh_token, 'a new refresh token')
    t.not(next.body.access_token, signed.body.access_token, 'a new access token')
    t.equal((await me(RESOURCE, next.body.access_token)).status, 200)

    t.equal((await logout(AUTH, next.body.access_token)).status, 204)
    // The logout travels over NATS JetStream (in its container) to the resource service.
    await waitFor('the resource service to reject the logged-out token', async () => {
      const { status } = await me(RESOURCE, next.body.access_token)
      return status === 401 || `GET /v1/me answered ${status}`
    }, 30_000)
    const replay = await refresh(AUTH, next.body.refresh_token)
    t.ok(replay.status >= 400 && replay.status < 500, `the refresh token is revoked too (got ${replay.status})`)
  })
}

function portOf (address: unknown): number {
  if (address === null || typeof address !== 'object' || !('port' in address)) throw new Error(`not listening: ${String(address)}`)
  return (address as { port: number }).port
}
