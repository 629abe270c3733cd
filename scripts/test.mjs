// `npm test`: every test with tap, against the Redis and NATS JetStream at REDIS_URL
// and NATS_URL (the services' defaults when unset). Where nothing answers there, it
// starts them in containers from the local images (testcontainers, never pulling)
// and points every suite at those; with neither, it stops at once and says so in
// one line. Leftovers of killed runs are removed by age first. Arguments go to tap.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { DEFAULT_NATS_URL, DEFAULT_REDIS_URL, engineUnavailable, natsAnswers, redisAnswers, removeOrphans, startContainers } from './test/dependencies.mjs'
import { dropStalePrefixes, dropStaleStreams } from './test/stale.mjs'

// Ryuk (the reaper container) would need a pull; this runner stops its own containers
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true'
const root = fileURLToPath(new URL('..', import.meta.url))
const redisUrl = process.env.REDIS_URL || DEFAULT_REDIS_URL
const natsUrl = process.env.NATS_URL || DEFAULT_NATS_URL

const [redisUp, natsUp] = await Promise.all([redisAnswers(redisUrl), natsAnswers(natsUrl)])
const env = { ...process.env, REDIS_URL: redisUrl, NATS_URL: natsUrl }
let containers
if (!redisUp || !natsUp) {
  const missing = [!redisUp && `Redis at ${redisUrl}`, !natsUp && `NATS JetStream at ${natsUrl}`].filter(Boolean).join(' and ')
  const why = await engineUnavailable()
  if (why !== undefined) {
    console.error(`npm test needs Redis and NATS JetStream, or a Docker engine to start them (local images redis:7, nats:2.10): nothing answers as ${missing}, and Docker: ${why}`)
    process.exit(1)
  }
  const orphans = await removeOrphans()
  if (orphans > 0) console.log(`# removed ${orphans} container(s) left by a killed test run`)
  containers = await startContainers({ redis: redisUp ? undefined : redisUrl, nats: natsUp ? undefined : natsUrl })
  Object.assign(env, containers.urls)
  console.log(`# nothing answered as ${missing}: started in containers, ${Object.entries(containers.urls).map(([k, v]) => `${k}=${v}`).join(' ')}`)
}
// a fresh container has no leftovers; a long-lived server may
if (redisUp) {
  const n = await dropStalePrefixes(redisUrl).catch((err) => { console.log(`# cannot look for stale test keys: ${err.message}`); return 0 })
  if (n > 0) console.log(`# removed the keys of ${n} stale test prefix(es)`)
}
if (natsUp) {
  const n = await dropStaleStreams(natsUrl).catch((err) => { console.log(`# cannot look for stale test streams: ${err.message}`); return 0 })
  if (n > 0) console.log(`# removed ${n} stale TEST_* stream(s)`)
}

const tap = spawn(`${root}node_modules/.bin/tap`, process.argv.slice(2), { cwd: root, env, stdio: 'inherit' })
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { tap.kill(signal) })
const code = await new Promise((resolve) => { tap.once('exit', (c, signal) => { resolve(c ?? (signal === null ? 1 : 128)) }) })
await containers?.stop()
process.exit(code)
