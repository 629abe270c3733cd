import t from 'tap'
import { natsConnectOptions, natsServers } from '../src/nats-servers.js'

t.test('NATS_URL lists several servers', async (t) => {
  t.same(natsServers('nats://a:4222, nats://b:4222,'), ['nats://a:4222', 'nats://b:4222'])
})

t.test('credentials in NATS_URL become user and pass, and leave the server list', async (t) => {
  t.same(natsConnectOptions('nats://auth:p%40ss@nats:4222,nats://n2:4222'), { servers: ['nats://nats:4222', 'nats://n2:4222'], user: 'auth', pass: 'p@ss' })
  t.same(natsConnectOptions('nats://s3cr3t@nats:4222'), { servers: ['nats://nats:4222'], token: 's3cr3t' }, 'a lone user part is a token')
  t.same(natsConnectOptions('nats://127.0.0.1:4222'), { servers: ['nats://127.0.0.1:4222'] })
})
