import t from 'tap'
import { AuthEnv, loadConfig } from '../src/index.js'
import { natsConnectOptions } from '../src/nats-servers.js'

// NATS_URL as the environment writes it, read by the config schema
const serversOf = (setting: string): string[] => loadConfig(AuthEnv, { NATS_URL: setting }).NATS_URL

t.test('NATS_URL lists several servers', async (t) => {
  t.same(serversOf('nats://a:4222, nats://b:4222,'), ['nats://a:4222', 'nats://b:4222'])
})

t.test('credentials in NATS_URL become user and pass, and leave the server list', async (t) => {
  t.same(natsConnectOptions(serversOf('nats://auth:p%40ss@nats:4222,nats://n2:4222')), { servers: ['nats://nats:4222', 'nats://n2:4222'], user: 'auth', pass: 'p@ss' })
  t.same(natsConnectOptions(serversOf('nats://s3cr3t@nats:4222')), { servers: ['nats://nats:4222'], token: 's3cr3t' }, 'a lone user part is a token')
  t.same(natsConnectOptions(serversOf('nats://127.0.0.1:4222')), { servers: ['nats://127.0.0.1:4222'] })
})
