import t from 'tap'
import { AuthEnv, clusterSeed, loadConfig } from '../src/index.js'

const plain = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: [] }

// REDIS_CLUSTER_NODES as the environment writes it, read by the config schema
const nodesOf = (setting: string): string[] => loadConfig(AuthEnv, { REDIS_CLUSTER_NODES: setting }).REDIS_CLUSTER_NODES

t.test('a plain REDIS_URL without REDIS_CLUSTER_NODES is one server', async (t) => {
  t.equal(clusterSeed(plain), undefined)
})

t.test('REDIS_CLUSTER_NODES names the seed nodes and takes credentials and TLS from REDIS_URL', async (t) => {
  t.same(clusterSeed({ REDIS_URL: 'rediss://app:s%3Acret@ignored:6379', REDIS_CLUSTER_NODES: nodesOf('r1:7000, r2:7001,[::1]:7002') }), {
    nodes: [{ host: 'r1', port: 7000 }, { host: 'r2', port: 7001 }, { host: '::1', port: 7002 }],
    tls: true,
    username: 'app',
    password: 's:cret'
  })
})

t.test('a redis+cluster:// URL names the nodes and the password in one variable', async (t) => {
  t.same(clusterSeed({ REDIS_URL: 'redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7000', REDIS_CLUSTER_NODES: [] }), {
    nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }],
    tls: false,
    password: 'pw'
  })
  t.same(clusterSeed({ REDIS_URL: 'rediss+cluster://n1:7000', REDIS_CLUSTER_NODES: [] }), { nodes: [{ host: 'n1', port: 7000 }], tls: true })
})

t.test('a node that is not host:port is refused with the variable named', async (t) => {
  t.throws(() => clusterSeed({ ...plain, REDIS_CLUSTER_NODES: ['r1:70000'] }), /REDIS_CLUSTER_NODES: "r1:70000" is not host:port/)
  t.throws(() => clusterSeed({ REDIS_URL: 'redis+cluster://', REDIS_CLUSTER_NODES: [] }), /REDIS_URL/)
})

t.test('the configuration accepts both forms and refuses a malformed node list', async (t) => {
  t.equal(loadConfig(AuthEnv, { REDIS_URL: 'redis+cluster://a:7000,b:7000' }).REDIS_URL, 'redis+cluster://a:7000,b:7000')
  t.same(loadConfig(AuthEnv, { REDIS_CLUSTER_NODES: 'a:7000,b:7000' }).REDIS_CLUSTER_NODES, ['a:7000', 'b:7000'])
  t.throws(() => loadConfig(AuthEnv, { REDIS_CLUSTER_NODES: 'a,b' }), /REDIS_CLUSTER_NODES/)
  t.throws(() => loadConfig(AuthEnv, { NATS_STREAM_REPLICAS: '0' }), /NATS_STREAM_REPLICAS/)
})
