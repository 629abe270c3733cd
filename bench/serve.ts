/**
 * `npx tsx bench/serve.ts`: the servers of scenario 1, started as the bench starts them
 * (resource on the server core, auth and the load generator's core for the rest), left
 * running so anyone can cross-check the bench's figure with wrk by hand. It prints the
 * wrk commands to run and, on Ctrl-C, stops everything and deletes its Redis keys and
 * NATS stream.
 */
import { LOAD_CPU, SERVER_CPU } from './lib/cpu.js'
import { me, signup } from './lib/api.js'
import { ROOT, startNode, waitMessage } from './lib/proc.js'
import { benchEnv, cleanup, productBuilt, startPair } from './lib/services.js'

if (!productBuilt()) throw new Error('build the services first: npx tsc -b services/auth services/resource')
const env = benchEnv()
const { auth, resource } = await startPair(env, { auth: LOAD_CPU, resource: SERVER_CPU })
const first = await signup(auth.url)
const body = await me(resource.url, first.access_token)
const bare = startNode('bare Fastify', `${ROOT}bench/refs/bare-fastify.ts`, { cpu: SERVER_CPU, env: { BENCH_BODY: JSON.stringify(body) } })
const bareUrl = `http://127.0.0.1:${Number((await waitMessage(bare, 'ready')).port)}/v1/me`
const header = `-H 'authorization: Bearer ${first.access_token}'`
process.stdout.write([
  `resource service pid ${resource.proc.pid ?? '?'} on CPU ${SERVER_CPU}, bare Fastify pid ${bare.proc.pid ?? '?'} on CPU ${SERVER_CPU}, auth on CPU ${LOAD_CPU}`,
  'the token expires with ACCESS_TOKEN_TTL (15 min by default); run this again for a new one',
  '',
  'cross-check, a few times each, alternating:',
  `  taskset -c ${LOAD_CPU} wrk -t1 -c50 -d10s ${header} ${bareUrl}`,
  `  taskset -c ${LOAD_CPU} wrk -t1 -c50 -d10s ${header} ${resource.url}/v1/me`,
  '',
  'Ctrl-C stops the servers.',
  ''
].join('\n'))

let stopping = false
async function stop (): Promise<void> {
  await Promise.all([resource.stop(), bare.stop()])
  await auth.stop()
  await cleanup(env)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    stop().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1) })
  })
}
