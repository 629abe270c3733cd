// The config schema reads list settings once: the environment keeps its
// comma- (or space-) separated form, the config holds the list.
import t, { type Test } from 'tap'
import { AuthEnv, ConfigError, ResourceEnv, browserOrigins, loadConfig, type AuthConfig } from '../src/index.js'

/** The ConfigError loading `env` throws (fails the test when none is thrown); overrides may be of the wrong type on purpose. */
function refusal (t: Test, env: Record<string, string>, overrides: Record<string, unknown> = {}): ConfigError {
  try {
    loadConfig(AuthEnv, env, overrides as Partial<AuthConfig>)
  } catch (err) {
    t.type(err, ConfigError)
    return err as ConfigError
  }
  t.fail(`accepted ${JSON.stringify(env)}`)
  return new ConfigError('', '')
}

t.test('a list setting is parsed to an array of trimmed items', async (t) => {
  const config = loadConfig(AuthEnv, {
    CORS_ORIGINS: 'https://a.example, https://b.example:8443',
    NATS_URL: 'nats://n1:4222,nats://n2:4222',
    REDIS_CLUSTER_NODES: 'r1:7000, [::1]:7001',
    DPOP_ALGS: 'ES256 PS256'
  })
  t.same(config.CORS_ORIGINS, ['https://a.example', 'https://b.example:8443'])
  t.same(config.NATS_URL, ['nats://n1:4222', 'nats://n2:4222'])
  t.same(config.REDIS_CLUSTER_NODES, ['r1:7000', '[::1]:7001'])
  t.same(config.DPOP_ALGS, ['ES256', 'PS256'])
  t.same(loadConfig(ResourceEnv, { DPOP_ALGS: 'EdDSA' }).DPOP_ALGS, ['EdDSA'], 'the resource service reads the same schema')
})

t.test('credentials are split at the first colon into id and secret', async (t) => {
  const config = loadConfig(AuthEnv, { INTROSPECTION_CLIENTS: 'rs:s3:cret, web:x', SSF_RECEIVERS: 'gw:gw-secret' })
  t.same(config.INTROSPECTION_CLIENTS, [{ id: 'rs', secret: 's3:cret' }, { id: 'web', secret: 'x' }])
  t.same(config.SSF_RECEIVERS, [{ id: 'gw', secret: 'gw-secret' }])
})

t.test('empty and repeated items are dropped; a list with no item is unset', async (t) => {
  t.same(loadConfig(AuthEnv, { CORS_ORIGINS: ' ,https://a.example,, https://a.example , ' }).CORS_ORIGINS, ['https://a.example'])
  t.same(loadConfig(AuthEnv, { DPOP_ALGS: ' ES256  ES256 EdDSA ' }).DPOP_ALGS, ['ES256', 'EdDSA'])
  t.same(loadConfig(AuthEnv, { NATS_URL: ' , ' }).NATS_URL, ['nats://127.0.0.1:4222'], 'only separators: the default')
  t.same(loadConfig(AuthEnv, { CORS_ORIGINS: ',' }).CORS_ORIGINS, [])
})

t.test('unset lists take their defaults', async (t) => {
  const config = loadConfig(AuthEnv, {})
  t.same(config.CORS_ORIGINS, [])
  t.same(config.NATS_URL, ['nats://127.0.0.1:4222'])
  t.same(config.REDIS_CLUSTER_NODES, [])
  t.same(config.DPOP_ALGS, ['ES256', 'EdDSA'])
  t.same(config.INTROSPECTION_CLIENTS, [])
  t.same(config.SSF_RECEIVERS, [])
  t.same(loadConfig(AuthEnv, { CORS_ORIGINS: '', DPOP_ALGS: '' }).DPOP_ALGS, ['ES256', 'EdDSA'], 'an empty variable is unset')
})

t.test('a bad item is named in the error, with its variable', async (t) => {
  const cors = refusal(t, { CORS_ORIGINS: 'https://a.example,ftp://b.example' })
  t.equal(cors.variable, 'CORS_ORIGINS')
  t.match(cors.message, /^invalid configuration: CORS_ORIGINS item "ftp:\/\/b\.example" must match /)
  t.notMatch(cors.message, /a\.example/, 'the good items are not blamed')
  t.match(refusal(t, { DPOP_ALGS: 'ES256 HS256' }).message, /DPOP_ALGS item "HS256" must be one of ES256, ES384, ES512, EdDSA, /)
  t.match(refusal(t, { REDIS_CLUSTER_NODES: 'r1:7000,r2' }).message, /REDIS_CLUSTER_NODES item "r2" must match/)
})

t.test('overrides are lists, checked like the environment', async (t) => {
  t.same(loadConfig(AuthEnv, { CORS_ORIGINS: 'https://ignored.example' }, { CORS_ORIGINS: ['https://a.example'] }).CORS_ORIGINS, ['https://a.example'])
  t.match(refusal(t, {}, { NATS_URL: [] }).message, /NATS_URL must list at least 1 item/)
  t.match(refusal(t, {}, { CORS_ORIGINS: 'https://a.example' }).message, /CORS_ORIGINS must be a list/)
})

t.test('no secret appears in a config error', async (t) => {
  const clients = refusal(t, { INTROSPECTION_CLIENTS: 'rs:s3cret-one,leaked-secret-two' })
  t.equal(clients.variable, 'INTROSPECTION_CLIENTS')
  t.match(clients.message, /INTROSPECTION_CLIENTS item 2 of 2 must be id:secret/)
  t.notMatch(clients.message, /s3cret-one|leaked-secret-two/)
  const receivers = refusal(t, { SSF_RECEIVERS: ':orphan-secret' })
  t.match(receivers.message, /SSF_RECEIVERS item 1 of 1 must be id:secret/)
  t.notMatch(receivers.message, /orphan-secret/)
  const overridden = refusal(t, {}, { SSF_RECEIVERS: [{ id: 'gw', secret: '' }, { id: '', secret: 'from-code' }] })
  t.match(overridden.message, /SSF_RECEIVERS item 1 of 2/)
  t.notMatch(overridden.message, /from-code/)
  const metrics = refusal(t, { METRICS_TOKEN: 'too-short' })
  t.match(metrics.message, /METRICS_TOKEN must match/)
  t.notMatch(metrics.message, /too-short/)
})

t.test('a URL\'s password does not appear in a config error', async (t) => {
  const redis = refusal(t, { REDIS_URL: 'http://ratchet:hunter2-redis@cache:6379' })
  t.match(redis.message, /REDIS_URL must match .*"http:\/\/ratchet:\*\*\*@cache:6379"/, 'the variable and the rest of its value are named')
  t.notMatch(redis.message, /hunter2/)
})

t.test('the browser origins are WEB_ORIGIN and CORS_ORIGINS, once each', async (t) => {
  t.same(browserOrigins(loadConfig(AuthEnv, { WEB_ORIGIN: 'https://app.example', CORS_ORIGINS: 'https://app.example,https://b.example' })), ['https://app.example', 'https://b.example'])
  t.same(browserOrigins(loadConfig(AuthEnv, {}, { WEB_ORIGIN: '', CORS_ORIGINS: [] })), [])
})
