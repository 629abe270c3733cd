import { AuthEnv, ResourceEnv, loadConfig, type AuthConfig, type ResourceConfig } from '@ratchet/shared'
import { buildApp as buildAuth } from '../../services/auth/src/app.js'
import { buildApp as buildResource } from '../../services/resource/src/app.js'
import { dependencyEnv, eventually, freePort } from '../support.js'

const debug = (msg: string): void => { if (process.env.CLUSTER_DEBUG !== undefined) console.error(new Date().toISOString(), msg) }

type Test = { teardown: (fn: () => unknown) => void }

/** Settings every instance of one deployment shares: where Redis and NATS are, the prefix, the stream, the issuer. */
export type Deployment = Partial<AuthConfig> & Pick<AuthConfig, 'ISSUER'>

export interface Instance<C> { url: string, config: C, close: () => Promise<void> }

/** An auth instance on a free port (or the one given); closed at teardown. */
export async function startAuthInstance (t: Test, deployment: Deployment, port?: number): Promise<Instance<AuthConfig>> {
  const config = loadConfig(AuthEnv, dependencyEnv(), { LOG_LEVEL: 'silent', RATE_LIMITS: 'off', ...deployment, PORT: port ?? await freePort() })
  const app = await buildAuth(config, process.env.CLUSTER_DEBUG !== undefined ? { logger: { level: 'info' } } : { logger: false })
  await app.listen({ host: '127.0.0.1', port: config.PORT })
  let closed = false
  const close = async (): Promise<void> => { if (!closed) { closed = true; debug('closing auth'); await app.close(); debug('closed auth') } }
  t.teardown(close)
  return { url: `http://127.0.0.1:${config.PORT}`, config, close }
}

/** A resource instance on a free port, ready (keys fetched, revocations replayed) when this returns. */
export async function startResourceInstance (t: Test, deployment: Deployment, own: Partial<ResourceConfig> = {}): Promise<Instance<ResourceConfig>> {
  const { ISSUER, AUDIENCE, ACCESS_TOKEN_TTL, CLOCK_LEEWAY, REDIS_URL, REDIS_CLUSTER_NODES, REDIS_PREFIX, NATS_URL, NATS_STREAM, NATS_SUBJECT_PREFIX } = deployment
  const common = { ISSUER, AUDIENCE, ACCESS_TOKEN_TTL, CLOCK_LEEWAY, REDIS_URL, REDIS_CLUSTER_NODES, REDIS_PREFIX, NATS_URL, NATS_STREAM, NATS_SUBJECT_PREFIX }
  const defined = Object.fromEntries(Object.entries(common).filter(([, v]) => v !== undefined)) as Partial<ResourceConfig>
  const config = loadConfig(ResourceEnv, dependencyEnv(), { LOG_LEVEL: 'silent', ...defined, ...own, PORT: 0 })
  const app = await buildResource(config, { logger: process.env.CLUSTER_DEBUG !== undefined ? { level: 'info' } : false, retryInterval: 100 })
  let closed = false
  const close = async (): Promise<void> => { if (!closed) { closed = true; debug('closing resource'); await app.close(); debug('closed resource') } }
  t.teardown(close)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  await eventually(async () => (await fetch(`${url}/health/ready`)).status === 200 ? true : undefined, 20000, 50)
  return { url, config, close }
}
