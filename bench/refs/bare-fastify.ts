/**
 * The ceiling for scenario 1: a bare Fastify route returning the same JSON body as
 * the resource service's GET /v1/me, with no token check at all.
 */
import Fastify from 'fastify'
import { tell } from '../lib/proc.js'

const body: unknown = JSON.parse(process.env.BENCH_BODY ?? '{}')
const app = Fastify({ logger: false })
app.get('/v1/me', async () => body)
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) })
const addr = app.server.address()
tell('ready', { port: typeof addr === 'object' && addr !== null ? addr.port : 0 })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
