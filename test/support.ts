import { connect } from 'nats'
import { AuthEnv, ResourceEnv, loadConfig, type AuthConfig, type ResourceConfig } from '@ratchet/shared'
import { buildApp as buildAuth } from '../services/auth/src/app.js'
import { buildApp as buildResource } from '../services/resource/src/app.js'
import { dependencyEnv, dropPrefix, eventually, freePort, isolation, type Test } from '../shared/test/helpers.js'

// The cross-service tests' helpers: the ones every workspace shares, and both services started together.
export * from '../shared/test/helpers.js'

export interface System {
  auth: string
  resource: string
  authConfig: AuthConfig
  resourceConfig: ResourceConfig
  stopResource: () => Promise<void>
  startResource: () => Promise<string>
}

async function dropStream (servers: string[], stream: string): Promise<void> {
  const nc = await connect({ servers })
  try { await (await nc.jetstreamManager()).streams.delete(stream) } catch {} finally { await nc.close() }
}

/**
 * Both services on real ports against the machine's Redis and NATS, sharing
 * one key prefix and one stream of their own; the auth service's ISSUER is its
 * real URL, and the resource service fetches its JWKS from it.
 */
export async function startSystem (t: Test, auth: Partial<AuthConfig> = {}, resource: Partial<ResourceConfig> = {}): Promise<System> {
  const shared = { ...isolation(), LOG_LEVEL: 'silent' as const, RATE_LIMITS: 'off' as const }
  const authPort = await freePort()
  const issuer = `http://127.0.0.1:${authPort}`
  const authConfig = loadConfig(AuthEnv, dependencyEnv(), { ...shared, PORT: authPort, ISSUER: issuer, ...auth })
  const authApp = await buildAuth(authConfig, { logger: false })
  await authApp.listen({ host: '127.0.0.1', port: authPort })
  const resourceConfig = loadConfig(ResourceEnv, dependencyEnv(), {
    ...shared,
    PORT: 0,
    ISSUER: issuer,
    ACCESS_TOKEN_TTL: authConfig.ACCESS_TOKEN_TTL,
    CLOCK_LEEWAY: authConfig.CLOCK_LEEWAY,
    ...resource
  })
  let resourceApp: Awaited<ReturnType<typeof buildResource>> | undefined
  const startResource = async () => {
    resourceApp = await buildResource(resourceConfig, { logger: false, retryInterval: 100 })
    await resourceApp.listen({ host: '127.0.0.1', port: 0 })
    const address = resourceApp.server.address()
    const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
    await eventually(async () => (await fetch(`${url}/health/ready`)).status === 200 ? true : undefined, 15000, 50)
    return url
  }
  const stopResource = async () => { await resourceApp?.close(); resourceApp = undefined }
  const resourceUrl = await startResource()
  t.teardown(async () => {
    await stopResource()
    await authApp.close()
    await dropStream(authConfig.NATS_URL, authConfig.NATS_STREAM)
    await dropPrefix(authConfig.REDIS_URL, authConfig.REDIS_PREFIX)
  })
  return { auth: issuer, resource: resourceUrl, authConfig, resourceConfig, stopResource, startResource }
}
