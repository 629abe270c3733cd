// `npm run keys:rotate [-- --file keys.json]` and `npm run -s keys:generate [-- --out keys.json]`.
// Reads the same environment as the service (REDIS_URL, REDIS_PREFIX, ACCESS_TOKEN_ALG,
// ACCESS_TOKEN_TTL, CLOCK_LEEWAY, KEY_PUBLISH_DELAY, KEY_RELOAD_INTERVAL).
import { parseArgs } from 'node:util'
import { writeFile } from 'node:fs/promises'
import { AuthEnv, ConfigError, createRedisClient, loadConfig } from '@ratchet/shared'
import { connectRedis, redisClientOptions } from '@ratchet/fastify'
import { generateKeySet, rotateFile, rotateShared, rotationPolicy } from './rotate.js'

const usage = 'usage: cli.js rotate [--file <SIGNING_KEYS_FILE>] | generate [--out <path>]'

async function main (argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { file: { type: 'string' }, out: { type: 'string' } } })
  const config = loadConfig(AuthEnv)
  const now = Date.now()
  if (positionals[0] === 'generate') {
    const text = JSON.stringify(generateKeySet(config.ACCESS_TOKEN_ALG, now), null, 2) + '\n'
    // 'wx': never overwrite a key file by accident; owner-only, as it holds private keys
    if (values.out !== undefined) await writeFile(values.out, text, { mode: 0o600, flag: 'wx' })
    else process.stdout.write(text)
    return 0
  }
  if (positionals[0] !== 'rotate') { console.error(usage); return 2 }
  const policy = rotationPolicy(config)
  const file = values.file ?? (config.SIGNING_KEYS_FILE !== '' ? config.SIGNING_KEYS_FILE : undefined)
  let result
  if (file !== undefined) {
    result = await rotateFile(file, policy, now)
  } else {
    const redis = createRedisClient(config, { lazyConnect: true, ...redisClientOptions })
    redis.on('error', () => {})
    try {
      await connectRedis(redis, 10000)
      result = await rotateShared(redis, policy, now)
    } finally {
      redis.disconnect()
    }
  }
  console.log(JSON.stringify({ ...result, signsFrom: new Date(now + policy.publishDelayMs).toISOString() }))
  return 0
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (err) {
  console.error(err instanceof ConfigError ? `keys: ${err.message}` : `keys: ${(err as Error).message}`)
  process.exitCode = 1
}
