import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { eventually } from '../support.js'
import { quietPort, serverGroup, type Server } from './processes.js'

type Test = { teardown: (fn: () => unknown) => void }

const run = promisify(execFile)

export interface RedisCluster {
  /** REDIS_CLUSTER_NODES for the services, `host:port` each */
  nodes: string[]
  servers: Server[]
}

async function clusterState (port: number): Promise<string> {
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
    const info = String(await redis.call('CLUSTER', 'INFO'))
    return /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown'
  } catch {
    return 'unreachable'
  } finally {
    redis.disconnect()
  }
}

/**
 * A real Redis Cluster of `masters` masters and no replicas, on free ports, in a
 * temporary folder: `redis-cli --cluster create` assigns the 16384 slots. Killed
 * and removed at teardown.
 */
export async function startRedisCluster (t: Test, masters = 3): Promise<RedisCluster> {
  const { dir, start } = await serverGroup(t, 'redis-cluster')
  const servers: Server[] = []
  for (let i = 0; i < masters; i++) {
    // the bus port (port + 10000) stays below the ephemeral range too
    const port = await quietPort(12000, 22000, [10000])
    servers.push(start('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--cluster-enabled', 'yes', '--cluster-config-file', `${dir}/nodes-${port}.conf`,
      '--cluster-node-timeout', '2000', '--save', '', '--appendonly', 'no'
    ], port))
  }
  for (const s of servers) {
    await eventually(async () => (await clusterState(s.port)) !== 'unreachable' ? true : undefined, 10000, 50)
      .catch((err: Error) => { throw new Error(`redis-server on ${s.port} did not start: ${err.message}\n${s.output()}`) })
  }
  const addresses = servers.map((s) => `127.0.0.1:${s.port}`)
  await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30000 })
  for (const s of servers) {
    await eventually(async () => (await clusterState(s.port)) === 'ok' ? true : undefined, 20000, 100)
  }
  return { nodes: addresses, servers }
}
