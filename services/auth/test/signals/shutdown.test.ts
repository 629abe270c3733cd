import t from 'tap'
import { createServer } from 'node:http'
import { Redis } from 'ioredis'
import { redisKeys } from '@ratchet/shared'
import { call, eventually, freePort, signUp, startReady } from '../helpers.js'
import { basic, createStream } from './receiver.js'

t.test('closing with a push in flight to a receiver that never answers is prompt and hands the SET back', async (t) => {
  const port = await freePort()
  // a push would wait 60 s for its answer: close must not
  const auth = await startReady(t, { PORT: port, ISSUER: `http://127.0.0.1:${port}`, SSF_RECEIVERS: [{ id: 'gw', secret: 'gw-secret' }], SSF_DELIVERY_TIMEOUT: 60 })
  const received: string[] = []
  const silent = createServer((req) => { req.on('data', () => {}); received.push(req.url ?? '') })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { silent.closeAllConnections(); await new Promise<void>((resolve) => silent.close(() => resolve())) })
  const addr = silent.address()
  const stream = await createStream(auth.url, basic('gw', 'gw-secret'), `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/events`)
  const user = await signUp(auth.url)
  t.equal((await call(`${auth.url}/v1/logout`, { method: 'POST', token: user.access })).status, 204)
  await eventually(() => received.length > 0 || undefined, 10000)

  let timer: NodeJS.Timeout | undefined
  const closed = await Promise.race([
    auth.close().then(() => 'closed'),
    new Promise<string>((resolve) => { timer = setTimeout(() => resolve('still closing after 10 s'), 10_000) })
  ])
  clearTimeout(timer)
  t.equal(closed, 'closed')

  const redis = new Redis(auth.config.REDIS_URL, { keyPrefix: auth.config.REDIS_PREFIX })
  t.teardown(() => { redis.disconnect() })
  const due = await redis.zrange(redisKeys.ssfDue(stream.stream_id), 0, -1, 'WITHSCORES')
  t.equal(due.length, 2, 'the SET is still queued')
  t.ok(Number(due[1]) <= Date.now(), 'due at once for the next instance, not after its lease')
})
