// Where the tests find Redis and NATS JetStream: the addresses in REDIS_URL and
// NATS_URL (the services' defaults when unset) if something answers there, else
// containers started from the local images redis:7 and nats:2.10 (never pulled).
import { Redis } from 'ioredis'
import { connect } from 'nats'

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222'
const PROBE_MS = 1500
/** every container a test run starts carries it, with the runner's pid beside it */
const LABEL = 'ratchet.test-dependency'

/** True when a Redis answers PING at the URL. */
export async function redisAnswers (url) {
  const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: PROBE_MS, commandTimeout: PROBE_MS })
  redis.on('error', () => {}) // no answer is the answer
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    redis.disconnect()
  }
}

/** True when a NATS server with JetStream answers at the URL (the first of a list). */
export async function natsAnswers (url) {
  const servers = url.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const nc = await connect({ servers, timeout: PROBE_MS, maxReconnectAttempts: 0 }).catch(() => undefined)
  if (nc === undefined) return false
  try {
    await (await nc.jetstreamManager({ timeout: PROBE_MS })).getAccountInfo()
    return true
  } catch {
    return false
  } finally {
    await nc.close().catch(() => {})
  }
}

/** The reason no container engine can be used, or undefined when one answers. */
export async function engineUnavailable () {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    await getContainerRuntimeClient()
    return undefined
  } catch (err) {
    return err.message.split('\n')[0]
  }
}

function pidAlive (pid) {
  try { process.kill(pid, 0); return true } catch (err) { return err.code === 'EPERM' }
}

/** Removes the containers of earlier runs that were killed before they could stop them. */
export async function removeOrphans () {
  const { getContainerRuntimeClient } = await import('testcontainers')
  const client = await getContainerRuntimeClient()
  const orphans = (await client.container.list()).filter((c) => c.Labels?.[LABEL] !== undefined && !pidAlive(Number(c.Labels[LABEL])))
  await Promise.all(orphans.map((c) => client.container.remove(client.container.getById(c.Id), { removeVolumes: true }).catch(() => {})))
  return orphans.length
}

/**
 * The container port published where the URL says, when that is this machine's
 * loopback: then even a suite that reads no environment finds it at the default
 * address. Elsewhere, a port Docker picks (the URL handed to the suites says which).
 */
function published (url, containerPort) {
  const { hostname, port } = new URL(url.split(',')[0].trim())
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname) || port === '') return containerPort
  return { container: containerPort, host: Number(port) }
}

/** One container from a local image, published where `url` says if it can be, else anywhere. */
async function startOne (image, command, url, containerPort, ready) {
  const { GenericContainer, Wait } = await import('testcontainers')
  // the images are local: a pull would need a registry this machine may not reach
  const neverPull = { shouldPull: () => false }
  const build = (port) => new GenericContainer(image).withPullPolicy(neverPull).withLabels({ [LABEL]: String(process.pid) })
    .withCommand(command).withExposedPorts(port).withWaitStrategy(Wait.forLogMessage(ready))
  const wanted = published(url, containerPort)
  try {
    return await build(wanted).start()
  } catch (err) {
    // e.g. the port is held by something that is not a Redis or a NATS
    if (wanted === containerPort) throw err
    return await build(containerPort).start()
  }
}

// "localhost" may resolve to ::1 first, where a published port need not listen
const hostOf = (container) => container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost()

/** Starts what is missing (`redis`, `nats`: the URLs nothing answered at); returns the URLs to use and a stop function. */
export async function startContainers ({ redis, nats }) {
  const started = []
  const urls = {}
  try {
    if (redis !== undefined) {
      const c = await startOne('redis:7', ['redis-server', '--save', '', '--appendonly', 'no'], redis, 6379, /Ready to accept connections/)
      started.push(c)
      urls.REDIS_URL = `redis://${hostOf(c)}:${c.getMappedPort(6379)}`
    }
    if (nats !== undefined) {
      const c = await startOne('nats:2.10', ['-js'], nats, 4222, /Server is ready/)
      started.push(c)
      urls.NATS_URL = `nats://${hostOf(c)}:${c.getMappedPort(4222)}`
    }
  } catch (err) {
    await Promise.all(started.map((c) => c.stop().catch(() => {})))
    throw err
  }
  return { urls, stop: async () => { await Promise.all(started.map((c) => c.stop({ timeout: 2000 }).catch(() => {}))) } }
}
