import { Cluster, Redis, type RedisOptions } from 'ioredis'

/** The settings that say where Redis is (see BaseEnv). */
export interface RedisTarget {
  REDIS_URL: string
  REDIS_CLUSTER_NODES: readonly string[]
  REDIS_PREFIX: string
}

export interface ClusterSeed {
  nodes: Array<{ host: string, port: number }>
  username?: string
  password?: string
  tls: boolean
}

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\//

function parseNodes (list: readonly string[], variable: string): Array<{ host: string, port: number }> {
  return list.map((hostPort) => {
    // [::1]:7000 or host:7000
    const m = /^(?:\[([^\]]+)\]|([^:/\s]+)):(\d{1,5})$/.exec(hostPort)
    const port = Number(m?.[3])
    if (m === null || port < 1 || port > 65535) throw new Error(`${variable}: "${hostPort}" is not host:port`)
    return { host: m[1] ?? m[2] ?? '', port }
  })
}

/**
 * The seed nodes of a Redis Cluster, or undefined for a single server.
 * REDIS_CLUSTER_NODES (`host:port,host:port` in the environment) wins; credentials and TLS then come
 * from REDIS_URL when it has them. A `redis+cluster://[user:pass@]host:port,host:port`
 * (or `rediss+cluster://`) REDIS_URL says the same in one variable.
 */
export function clusterSeed (target: Pick<RedisTarget, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): ClusterSeed | undefined {
  const scheme = CLUSTER_SCHEME.exec(target.REDIS_URL)
  const rest = scheme === null ? '' : target.REDIS_URL.slice(scheme[0].length).replace(/\/\d*$/, '')
  const at = rest.lastIndexOf('@')
  const userinfo = at === -1 ? '' : rest.slice(0, at)
  let username: string | undefined
  let password: string | undefined
  let tls = scheme?.[1] === 'rediss'
  if (scheme === null) {
    // a plain URL only lends its credentials and TLS to REDIS_CLUSTER_NODES
    const url = new URL(target.REDIS_URL)
    username = url.username === '' ? undefined : decodeURIComponent(url.username)
    password = url.password === '' ? undefined : decodeURIComponent(url.password)
    tls = url.protocol === 'rediss:'
  } else if (userinfo !== '') {
    const colon = userinfo.indexOf(':')
    const user = colon === -1 ? '' : userinfo.slice(0, colon)
    username = user === '' ? undefined : decodeURIComponent(user)
    password = decodeURIComponent(colon === -1 ? userinfo : userinfo.slice(colon + 1))
  }
  const nodes = target.REDIS_CLUSTER_NODES.length > 0
    ? parseNodes(target.REDIS_CLUSTER_NODES, 'REDIS_CLUSTER_NODES')
    : scheme !== null ? parseNodes(rest.slice(at + 1).split(',').map((s) => s.trim()).filter((s) => s !== ''), 'REDIS_URL') : []
  if (nodes.length === 0) {
    if (scheme !== null) throw new Error('REDIS_URL: a redis+cluster:// URL names no node')
    return undefined
  }
  return { nodes, tls, ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) }
}

/** Options for one connection; the key prefix comes from the target. */
export type ConnectionOptions = Omit<RedisOptions, 'keyPrefix' | 'host' | 'port' | 'path' | 'sentinels' | 'readOnly'>

/**
 * A client for the configured Redis: a single server, or a Redis Cluster when
 * REDIS_CLUSTER_NODES or a `redis+cluster://` REDIS_URL names one. Every key the
 * services use carries a `{uid}` hash tag or stands alone (see redis-keys.ts), so
 * each Lua script, MULTI and pipeline touches one slot and runs the same on both.
 *
 * Typed as `Redis`: a Cluster has the same command interface (ioredis' Commander)
 * and the same connect, quit, disconnect, status and events, which is all the
 * services use; test/cluster runs the whole flow on a real Cluster to keep it so.
 */
export function createRedisClient (target: RedisTarget, options: ConnectionOptions): Redis {
  const seed = clusterSeed(target)
  if (seed === undefined) return new Redis(target.REDIS_URL, { ...options, keyPrefix: target.REDIS_PREFIX })
  const { retryStrategy, enableOfflineQueue, lazyConnect, ...perNode } = options
  const cluster = new Cluster(seed.nodes, {
    keyPrefix: target.REDIS_PREFIX,
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    // the Cluster reconnects as a whole (its nodes do not retry on their own)
    ...(typeof retryStrategy === 'function' ? { clusterRetryStrategy: (times: number) => retryStrategy(times) } : {}),
    // a failover takes a few seconds; commands wait for the new master meanwhile
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    redisOptions: {
      ...perNode,
      ...(seed.username !== undefined ? { username: seed.username } : {}),
      ...(seed.password !== undefined ? { password: seed.password } : {}),
      ...(seed.tls ? { tls: {} } : {})
    }
  })
  // see the TSDoc above: a Cluster is used only through what it shares with Redis
  return cluster as unknown as Redis
}
