import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { catalogued, errors, parseBearerChallenge, type OAuthErrorCode, type RatchetError } from '@ratchet/shared'

// In the style of fastify's test/internals/errors.test.js: the catalogue is the
// contract clients branch on, so its shape is tested, not just its use.

const root = new URL('../../', import.meta.url).pathname
const entries = Object.entries(errors)
const argFor = (message: string): [] | [string] | [number] => message.includes('%d') ? [7] : message.includes('%s') ? ['detail'] : []
type AnyEntry = new (...args: Array<string | number>) => RatchetError
/** An instance of an entry, with an argument of the kind its message formats. */
const make = (E: { message: string }): RatchetError => new (E as unknown as AnyEntry)(...argFor(E.message))

const OAUTH_CODES: readonly OAuthErrorCode[] = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'unsupported_token_type', 'temporarily_unavailable', 'server_error', 'invalid_dpop_proof', 'use_dpop_nonce']

t.test('each key equals its code, on the class and on an instance', async (t) => {
  for (const [key, E] of entries) {
    t.equal(E.code, key)
    t.equal(make(E).code, key)
  }
})

t.test('codes are unique and RATCHET_ prefixed', async (t) => {
  const codes = entries.map(([, E]) => E.code)
  t.equal(new Set(codes).size, codes.length)
  for (const code of codes) t.match(code, /^RATCHET_[A-Z_]+$/)
})

t.test('each entry has an error status, and its instances carry it', async (t) => {
  for (const [key, E] of entries) {
    t.ok(E.wire.status >= 400 && E.wire.status < 600, `${key}: ${E.wire.status}`)
    t.equal(make(E).statusCode, E.wire.status, key)
    t.ok(make(E) instanceof Error, `${key} is an Error`)
  }
})

t.test('OAuth codes are RFC 6749 §5.2 codes, carried by the instances', async (t) => {
  for (const [key, E] of entries) {
    if (E.wire.oauth === undefined) continue
    t.ok(OAUTH_CODES.includes(E.wire.oauth), `${key}: ${E.wire.oauth}`)
    t.equal(make(E).oauth, E.wire.oauth)
  }
  t.equal(errors.RATCHET_INVALID_REFRESH_TOKEN.wire.oauth, 'invalid_grant')
  t.equal(errors.RATCHET_INVALID_SCOPE.wire.oauth, 'invalid_scope')
})

t.test('bearer failures carry their RFC 6750 challenge, and only they do', async (t) => {
  for (const [key, E] of entries) {
    const err = make(E)
    if (E.wire.bearer === undefined) { t.equal(err.challenge, undefined, `${key}: no challenge`); continue }
    t.ok([400, 401, 403].includes(E.wire.status), `${key}: a bearer status`)
    const params = parseBearerChallenge(err.challenge ?? '')
    t.ok(params, `${key}: a Bearer challenge`)
    t.equal(params?.realm, 'ratchet')
    t.equal(params?.error, E.wire.bearer ?? undefined, `${key}: error=${String(E.wire.bearer)}`)
  }
  t.equal(new errors.RATCHET_MISSING_CREDENTIALS().challenge, 'Bearer realm="ratchet"', 'no credentials: the bare challenge')
  t.match(new errors.RATCHET_INVALID_ACCESS_TOKEN('The access token expired').challenge, /error_description="The access token expired"/)
  t.match(new errors.RATCHET_INSUFFICIENT_SCOPE('notes:write').challenge, /scope="notes:write"/)
})

t.test('a 429 says when to retry', async (t) => {
  t.equal(new errors.RATCHET_RATE_LIMITED(12).retryAfter, 12)
  t.equal(new errors.RATCHET_LOGIN_THROTTLED(3).retryAfter, 3)
  t.equal(new errors.RATCHET_BUSY().retryAfter, undefined)
})

t.test('catalogued() knows our codes and nothing else', async (t) => {
  t.equal(catalogued('RATCHET_BUSY'), errors.RATCHET_BUSY)
  for (const code of ['FST_ERR_VALIDATION', 'toString', '__proto__', undefined, 42]) t.equal(catalogued(code), undefined, String(code))
})

const documented = readFileSync(join(root, 'docs/errors.md'), 'utf8')

t.test('every code is documented in docs/errors.md, with its status', async (t) => {
  for (const [key, E] of entries) t.match(documented, new RegExp(`\\| \`${key}\` \\| ${E.wire.status} \\|`), key)
  for (const [, code] of documented.matchAll(/\| `(RATCHET_[A-Z_]+)` \|/g)) t.ok(catalogued(code), `${code ?? ''} documented and catalogued`)
})

function sources (dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules' || name === 'dist') return []
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : []
  })
}

t.test('every RATCHET_ code the services and packages use is in the catalogue', async (t) => {
  const dirs = ['shared/src', 'shared/fastify/src', 'services/auth/src', 'services/resource/src'].map((d) => join(root, d))
  const used = new Set<string>()
  for (const file of dirs.flatMap(sources)) {
    for (const [code] of readFileSync(file, 'utf8').matchAll(/\bRATCHET_[A-Z][A-Z_]*[A-Z]\b/g)) used.add(code)
  }
  t.ok(used.size >= 15, `found the codes in use (${used.size})`)
  for (const code of used) t.ok(catalogued(code), `${code} is catalogued`)
})
