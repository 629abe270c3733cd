// The real auth and resource services for tests that drive them with a client (the
// SDK's integration tests, the web app's browser tests): run in the test process over
// the machine's Redis and NATS JetStream (or those `npm test` started), each test with
// a key prefix, stream and subjects of its own, deleted at teardown.
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { connect } from 'nats'
import { AuthEnv, loadConfig, ResourceEnv, type AuthConfig, type ResourceConfig } from '@ratchet/shared'
import { buildApp as buildAuth } from '../../../services/auth/src/app.js'
import { buildApp as buildResource } from '../../../services/resource/src/app.js'
import { eventually } from './client-fixture.js'
// bounded clean-up with an error listener; the addresses `npm test` chose
import { dependencyEnv, dropPrefix } from '../../../services/auth/test/helpers.js'

type Test = { teardown: (fn: () => unknown) => void }

export type Isolation = Pick<AuthConfig, 'REDIS_PREFIX' | 'NATS_STREAM' | 'NATS_SUBJECT_PREFIX'>

/**
 * A Redis prefix, NATS stream and subject prefix of this test's own (`tag` names whose
 * they are when one is left behind), the stream created now so a resource service
 * started before the auth service's relay never waits on it.
 */
export async function isolatedDependencies (t: Test, tag: string): Promise<Isolation> {
  const id = randomBytes(5).toString('hex')
  const isolation = { REDIS_PREFIX: `test:${id}:`, NATS_STREAM: `TEST_${tag.toUpperCase()}_${id}`, NATS_SUBJECT_PREFIX: `test_${tag}_${id}` }
  const { NATS_URL, REDIS_URL } = loadConfig(AuthEnv, dependencyEnv(), isolation)
  const nc = await connect({ servers: NATS_URL })
  const jsm = await nc.jetstreamManager()
  t.teardown(async () => {
    await jsm.streams.delete(isolation.NATS_STREAM).catch(() => {})
    await nc.close()
    await dropPrefix(REDIS_URL, isolation.REDIS_PREFIX)
  })
  await jsm.streams.info(isolation.NATS_STREAM).catch(() => jsm.streams.add({ name: isolation.NATS_STREAM, subjects: [`${isolation.NATS_SUBJECT_PREFIX}.events.>`] }))
  return isolation
}

export interface ServiceSettings {
  /** settings both services get (ISSUER, ACCESS_TOKEN_TTL, CLOCK_LEEWAY, …) */
  both?: Partial<AuthConfig> & Partial<ResourceConfig>
  /** the auth service's own */
  auth?: Partial<AuthConfig>
}

/** Both services on free ports of 127.0.0.1, rate limits off and silent; closed and cleaned at teardown. */
export async function startServices (t: Test, tag: string, settings: ServiceSettings = {}): Promise<{ authUrl: string, resourceUrl: string }> {
  const shared = { ...await isolatedDependencies(t, tag), LOG_LEVEL: 'silent' as const, PORT: 0, ...settings.both }
  const auth = await buildAuth(loadConfig(AuthEnv, dependencyEnv(), { ...shared, RATE_LIMITS: 'off', ...settings.auth }), { logger: false })
  t.teardown(() => auth.close())
  await auth.listen({ host: '127.0.0.1', port: 0 })
  const authUrl = `http://127.0.0.1:${(auth.server.address() as AddressInfo).port}`

  const resource = await buildResource(loadConfig(ResourceEnv, dependencyEnv(), { ...shared, JWKS_URL: `${authUrl}/.well-known/jwks.json` }), { logger: false, retryInterval: 100 })
  t.teardown(() => resource.close())
  await resource.listen({ host: '127.0.0.1', port: 0 })
  const resourceUrl = `http://127.0.0.1:${(resource.server.address() as AddressInfo).port}`
  await eventually(async () => (await fetch(`${resourceUrl}/health/ready`)).status === 200, 10_000)
  return { authUrl, resourceUrl }
}
