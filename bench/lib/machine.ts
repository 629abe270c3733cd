import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { connect } from 'nats'
import { pinning, LOAD_CPU, SERVER_CPU } from './cpu.js'
import { ROOT } from './proc.js'

function pkgVersion (name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
  } catch { return '?' }
}

function gitCommit (): string {
  try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim() } catch { return '?' }
}

/** The machine and software a run measured, for the report's header. */
export async function describeMachine (redisUrl: string, natsUrl: string): Promise<{ machine: string[], versions: string[] }> {
  const c = cpus()
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  let redisVersion = '?'
  try {
    await redis.connect()
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? '?'
  } finally { redis.disconnect() }
  let natsVersion = '?'
  try {
    const nc = await connect({ servers: natsUrl })
    natsVersion = nc.info?.version ?? '?'
    await nc.close()
  } catch { /* reported as ? */ }
  return {
    machine: [
      `CPU: ${c.length} × ${c[0]?.model ?? '?'}; RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Linux ${release()}`,
      pinning
        ? `pinning: server under test on CPU ${SERVER_CPU}, load generator and bench driver on CPU ${LOAD_CPU} (taskset); Redis and NATS are the machine's own, unpinned`
        : 'pinning: none (taskset missing or fewer than 2 cores)',
      `commit: ${gitCommit()}`,
      `load average when the run started: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (1, 5, 15 min; other work on this machine shares its 2 cores)`
    ],
    versions: [
      `Node ${process.version}, Redis ${redisVersion}, NATS server ${natsVersion}`,
      ['fastify', 'fast-jwt', 'ioredis', 'nats', 'argon2', 'autocannon', 'express', 'jsonwebtoken', 'oidc-provider']
        .map((p) => `${p} ${pkgVersion(p)}`).join(', ')
    ]
  }
}
