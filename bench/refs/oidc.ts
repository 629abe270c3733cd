/**
 * The reference for scenario 2: panva's oidc-provider (v8, the line that supports
 * Node 20) serving the refresh_token grant with rotation and JWT (ES256) access
 * tokens, with its built-in in-memory adapter. Sessions are seeded through the
 * provider's own models (a Grant and a RefreshToken each), as an authorization
 * code exchange would leave them, and their refresh tokens handed to the parent.
 */
import { generateKeyPairSync } from 'node:crypto'
import Provider from 'oidc-provider'
import { tell } from '../lib/proc.js'

const port = Number(process.env.PORT ?? 0)
const count = Number(process.env.BENCH_SESSIONS ?? 100)
const issuer = `http://127.0.0.1:${port}`
const resource = 'urn:ratchet:api'
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' }

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/cb'],
    id_token_signed_response_alg: 'ES256'
  }],
  cookies: { keys: ['bench-only-cookie-key'] },
  jwks: { keys: [jwk] },
  scopes: ['openid', 'offline_access', 'notes:read', 'notes:write'],
  rotateRefreshToken: true,
  ttl: { AccessToken: 900, RefreshToken: 1209600, Grant: 1209600 },
  findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope: 'notes:read notes:write',
        audience: 'ratchet-api',
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } }
      })
    }
  }
})

const found = await provider.Client.find('bench')
if (found === undefined) throw new Error('the bench client is not configured')
const client = found
let accounts = 0

/** A new session as an authorization code exchange would leave it: a Grant and a RefreshToken. */
async function mint (): Promise<string> {
  const accountId = `user-${accounts++}`
  const grant = new provider.Grant({ accountId, clientId: 'bench' })
  grant.addOIDCScope('offline_access') // no `openid`: no ID token, as the product issues none
  grant.addResourceScope(resource, 'notes:read notes:write')
  const grantId = await grant.save()
  const rt = new provider.RefreshToken({
    accountId,
    client,
    grantId,
    gty: 'authorization_code',
    authTime: Math.floor(Date.now() / 1000),
    resource,
    rotations: 0,
    scope: 'offline_access notes:read notes:write'
  })
  return await rt.save()
}

const tokens: string[] = []
for (let i = 0; i < count; i++) tokens.push(await mint())

// The bench asks for a new chain when a round ended with a token in flight (a replay
// would trip reuse detection). Off the measured path: only between rounds.
provider.use(async (ctx, next) => {
  if (ctx.method === 'POST' && ctx.path === '/bench/mint') {
    ctx.body = { refresh_token: await mint() }
    return
  }
  await next()
})

const server = provider.listen(port, '127.0.0.1', () => tell('ready', { port, tokens }))
process.on('SIGTERM', () => { server.close(() => process.exit(0)) })
