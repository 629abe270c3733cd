import t from 'tap'
import { ACCESS_TOKEN_TYP, REFRESH_TOKEN_TYP } from '@ratchet/shared'
import {
  attackerKey, bothReady, filler, form, FORM, JSON_CT, listeningPost, nowSeconds, partsOf, readRealKeys, send, signAsym,
  signHmac, signUp, startTarget, unsigned, type Answer, type Json, type RealKeys, type Victim
} from './forge.js'
import type { System } from '../support.js'

// The token half of the attack corpus (issue 7): every forged, confused, stale or
// malformed token is sent to every endpoint that reads that kind of token, on both
// services over real ports, and must be refused with the right 4xx, never a 5xx.
// Forgeries are made both with keys the services do not trust and with the real
// keys (read from Redis as an insider would), so that for the claim checks (iss,
// aud, typ, exp, nbf, iat) nothing but the check itself stands in the way.

const INTROSPECTOR = 'Basic ' + Buffer.from('rs:secret').toString('base64')
const JWT_BODY_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
// Node's default limit on the request head; beyond it Node itself answers 431
const MAX_HEADER_BYTES = 16 * 1024

type Kind = 'access' | 'refresh'
type Endpoint = 'resource GET /v1/me' | 'resource POST /v1/notes' | 'resource DELETE /v1/notes/:id' |
  'auth GET /v1/sessions' | 'auth DELETE /v1/sessions/:sid' | 'auth POST /v1/logout-all' | 'auth POST /v1/logout (Bearer)' |
  'auth POST /v1/refresh (access_token)' | 'auth POST /v1/refresh' | 'auth POST /v1/logout (refresh_token)' |
  'auth POST /oauth/token' | 'auth POST /oauth/revoke' | 'auth POST /oauth/introspect'

interface Case {
  name: string
  kind: Kind
  token: (ctx: Ctx) => string
  /** a genuine token whose only fault is its expiry: logout and revocation accept those by design */
  genuineButExpired?: boolean
  /** endpoints where this token is legitimately accepted (an access token at /oauth/revoke) */
  skip?: Endpoint[]
  /** the forgery is signed with a real key: give it a victim of its own, in case it works */
  ownVictim?: boolean
}

interface Ctx { sys: System, keys: RealKeys, victim: Victim, jwksKid: string, post: string, stranger: { access: string, refresh: string } }

/** What a refused token must get at each endpoint, and how to send it there. */
interface Target {
  endpoint: Endpoint
  kind: Kind
  send: (ctx: Ctx, token: string) => Promise<Answer>
  expect: (token: string) => { status: number, code?: string, oauth?: string, challenge?: string }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** A bad access token in the Authorization header: 431 past Node's head limit, 400 when not b64token, else 401 invalid_token. */
function bearerRefusal (token: string) {
  if (token.length > MAX_HEADER_BYTES) return { status: 431 }
  if (!B64TOKEN.test(token)) return { status: 400, code: 'RATCHET_MALFORMED_AUTHORIZATION', challenge: 'invalid_request' }
  return { status: 401, code: 'RATCHET_INVALID_ACCESS_TOKEN', challenge: 'invalid_token' }
}

/** A bad token in a /v1 JSON body: 413 past the body limit, 400 naming the field when not JWT-shaped, else 401. */
function jsonRefusal (token: string) {
  if (token.length > 60 * 1024) return { status: 413 }
  if (token.length > 4096 || !JWT_BODY_PATTERN.test(token)) return { status: 400, code: 'FST_ERR_VALIDATION' }
  return { status: 401, code: 'RATCHET_INVALID_REFRESH_TOKEN' }
}

/** A bad token at the OAuth endpoints: RFC 6749 §5.2 objects. */
function formRefusal (grant: string) {
  return (token: string) => {
    if (token.length > 16 * 1024) return { status: 413, oauth: 'invalid_request' }
    if (token.length > 4096) return { status: 400, oauth: 'invalid_request' }
    return { status: grant === '' ? 200 : 400, ...(grant === '' ? {} : { oauth: grant }) }
  }
}

const targets: Target[] = [
  { endpoint: 'resource GET /v1/me', kind: 'access', send: async ({ sys }, tok) => await send(`${sys.resource}/v1/me`, { headers: bearer(tok) }), expect: bearerRefusal },
  { endpoint: 'resource POST /v1/notes', kind: 'access', send: async ({ sys }, tok) => await send(`${sys.resource}/v1/notes`, { method: 'POST', headers: { ...bearer(tok), ...JSON_CT }, body: '{"text":"forged"}' }), expect: bearerRefusal },
  { endpoint: 'resource DELETE /v1/notes/:id', kind: 'access', send: async ({ sys }, tok) => await send(`${sys.resource}/v1/notes/abc`, { method: 'DELETE', headers: bearer(tok) }), expect: bearerRefusal },
  { endpoint: 'auth GET /v1/sessions', kind: 'access', send: async ({ sys }, tok) => await send(`${sys.auth}/v1/sessions`, { headers: bearer(tok) }), expect: bearerRefusal },
  { endpoint: 'auth DELETE /v1/sessions/:sid', kind: 'access', send: async ({ sys, victim }, tok) => await send(`${sys.auth}/v1/sessions/${victim.sid}`, { method: 'DELETE', headers: bearer(tok) }), expect: bearerRefusal },
  { endpoint: 'auth POST /v1/logout-all', kind: 'access', send: async ({ sys }, tok) => await send(`${sys.auth}/v1/logout-all`, { method: 'POST', headers: bearer(tok) }), expect: bearerRefusal },
  { endpoint: 'auth POST /v1/logout (Bearer)', kind: 'access', send: async ({ sys }, tok) => await send(`${sys.auth}/v1/logout`, { method: 'POST', headers: bearer(tok) }), expect: bearerRefusal },
  {
    endpoint: 'auth POST /v1/refresh (access_token)',
    kind: 'access',
    // beside the victim's genuine refresh token: the access token alone must sink the request
    send: async ({ sys, victim }, tok) => await send(`${sys.auth}/v1/refresh`, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ refresh_token: victim.refresh, access_token: tok }) }),
    expect: jsonRefusal
  },
  { endpoint: 'auth POST /v1/refresh', kind: 'refresh', send: async ({ sys }, tok) => await send(`${sys.auth}/v1/refresh`, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ refresh_token: tok }) }), expect: jsonRefusal },
  { endpoint: 'auth POST /v1/logout (refresh_token)', kind: 'refresh', send: async ({ sys }, tok) => await send(`${sys.auth}/v1/logout`, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ refresh_token: tok }) }), expect: jsonRefusal },
  { endpoint: 'auth POST /oauth/token', kind: 'refresh', send: async ({ sys }, tok) => await send(`${sys.auth}/oauth/token`, { method: 'POST', headers: FORM, body: form({ grant_type: 'refresh_token', client_id: 'first-party', refresh_token: tok }) }), expect: formRefusal('invalid_grant') },
  // RFC 7009 §2.2: an unknown token is answered 200, so here "refused" means the session lives on (checked after each case)
  { endpoint: 'auth POST /oauth/revoke', kind: 'refresh', send: async ({ sys }, tok) => await send(`${sys.auth}/oauth/revoke`, { method: 'POST', headers: FORM, body: form({ token: tok, client_id: 'first-party' }) }), expect: formRefusal('') },
  { endpoint: 'auth POST /oauth/introspect', kind: 'refresh', send: async ({ sys }, tok) => await send(`${sys.auth}/oauth/introspect`, { method: 'POST', headers: { ...FORM, authorization: INTROSPECTOR }, body: form({ token: tok }) }), expect: formRefusal('') }
]

// ---- what a genuine token looks like, to forge from ----
const accessHeader = (ctx: Ctx, over: Json = {}): Json => ({ alg: ctx.keys.access.alg, typ: ACCESS_TOKEN_TYP, kid: ctx.keys.access.kid, ...over })
const refreshHeader = (ctx: Ctx, over: Json = {}): Json => ({ alg: 'HS256', typ: REFRESH_TOKEN_TYP, kid: ctx.keys.refresh.kid, ...over })
const accessClaims = (ctx: Ctx, over: Json = {}): Json => ({ ...partsOf(ctx.victim.access).payload, ...over })
const refreshClaims = (ctx: Ctx, over: Json = {}): Json => ({ ...partsOf(ctx.victim.refresh).payload, ...over })
const withRealAccessKey = (ctx: Ctx, header: Json, payload: Json) => signAsym(ctx.keys.access.alg, ctx.keys.access.privateKey, header, payload)
const withRealRefreshKey = (ctx: Ctx, header: Json, payload: Json) => signHmac(ctx.keys.refresh.secret, header, payload)

const stranger = attackerKey('ES256')
const strangerRsa = attackerKey('PS256')
const strangerEd = attackerKey('EdDSA')
const strangerSecret = Buffer.from('an attacker-chosen secret of more than 32 bytes!')
const withStranger = (header: Json, payload: Json) => signAsym('ES256', stranger.privateKey, header, payload)
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')
const hour = 3600

/** The same forgery for both token kinds, where it makes sense for both. */
function both (name: string, make: (ctx: Ctx, kind: Kind) => string, extra: Partial<Case> = {}): Case[] {
  return [
    { name: `${name} (as access token)`, kind: 'access', token: (ctx) => make(ctx, 'access'), ...extra },
    { name: `${name} (as refresh token)`, kind: 'refresh', token: (ctx) => make(ctx, 'refresh'), ...extra }
  ]
}
const headerOf = (ctx: Ctx, kind: Kind, over: Json = {}) => kind === 'access' ? accessHeader(ctx, over) : refreshHeader(ctx, over)
const claimsOf = (ctx: Ctx, kind: Kind, over: Json = {}) => kind === 'access' ? accessClaims(ctx, over) : refreshClaims(ctx, over)
const signReal = (ctx: Ctx, kind: Kind, header: Json, payload: Json) => kind === 'access' ? withRealAccessKey(ctx, header, payload) : withRealRefreshKey(ctx, header, payload)

const cases: Case[] = [
  // alg none: no signature at all, with and without a signature part copied from a genuine token
  ...['none', 'None', 'NONE', 'nOnE'].flatMap((alg) => both(`alg "${alg}"`, (ctx, kind) => unsigned(headerOf(ctx, kind, { alg }), claimsOf(ctx, kind)))),
  ...both('alg "none" with a genuine signature part', (ctx, kind) => {
    const real = kind === 'access' ? ctx.victim.access : ctx.victim.refresh
    return `${b64(headerOf(ctx, kind, { alg: 'none' }))}.${real.split('.')[1]!}.${real.split('.')[2]!}`
  }),
  ...both('alg header missing', (ctx, kind) => unsigned({ typ: kind === 'access' ? ACCESS_TOKEN_TYP : REFRESH_TOKEN_TYP, kid: ctx.keys.access.kid }, claimsOf(ctx, kind))),

  // HS256 keyed with the public key (the classic RS/HS confusion), in every form it is published
  ...both('HS256 keyed with the JWKS public key as PEM', (ctx, kind) => signHmac(ctx.keys.access.publicPem, headerOf(ctx, kind, { alg: 'HS256', kid: ctx.keys.access.kid }), claimsOf(ctx, kind))),
  ...both('HS256 keyed with the JWKS entry as published (JSON bytes)', (ctx, kind) => signHmac(ctx.jwksKid, headerOf(ctx, kind, { alg: 'HS256', kid: ctx.keys.access.kid }), claimsOf(ctx, kind))),
  { name: 'HS256 keyed with the public key, naming the refresh kid (as refresh token)', kind: 'refresh', token: (ctx) => signHmac(ctx.keys.access.publicPem, refreshHeader(ctx), refreshClaims(ctx)) },

  // key confusion: an ES256 key's token claiming RS/PS/ES512, or signed by another kind of key
  ...['RS256', 'PS256', 'ES512', 'EdDSA', 'HS512'].map((alg): Case => ({
    name: `genuine ES256 signature under alg "${alg}" (as access token)`,
    kind: 'access',
    token: (ctx) => withRealAccessKey(ctx, accessHeader(ctx, { alg }), accessClaims(ctx))
  })),
  { name: 'PS256 by an attacker RSA key naming the real kid (as access token)', kind: 'access', token: (ctx) => signAsym('PS256', strangerRsa.privateKey, accessHeader(ctx, { alg: 'PS256' }), accessClaims(ctx)) },
  { name: 'RS256 by an attacker RSA key naming the real kid (as access token)', kind: 'access', token: (ctx) => signAsym('RS256', strangerRsa.privateKey, accessHeader(ctx, { alg: 'RS256' }), accessClaims(ctx)) },
  { name: 'EdDSA by an attacker key naming the real kid (as access token)', kind: 'access', token: (ctx) => signAsym('EdDSA', strangerEd.privateKey, accessHeader(ctx, { alg: 'EdDSA' }), accessClaims(ctx)) },
  { name: 'refresh token signed with the real access key, naming it (as refresh token)', kind: 'refresh', token: (ctx) => withRealAccessKey(ctx, refreshHeader(ctx, { alg: ctx.keys.access.alg, kid: ctx.keys.access.kid }), refreshClaims(ctx)) },
  { name: 'access token HS256 with the real refresh key and its kid (as access token)', kind: 'access', token: (ctx) => withRealRefreshKey(ctx, accessHeader(ctx, { alg: 'HS256', kid: ctx.keys.refresh.kid }), accessClaims(ctx)) },

  // kid injection: the kid is only ever a lookup key
  ...[['path traversal', '../../../../etc/passwd'], ['SQL', "' OR '1'='1' --"], ['very long (8 KB)', filler(8 * 1024)], ['NUL and newline', 'a\u0000b\nc'], ['empty', ''], ['a URL', 'http://127.0.0.1:1/jwks.json']]
    .flatMap(([what, kid]) => both(`kid ${what!}`, (ctx, kind) => kind === 'access'
      ? withStranger(accessHeader(ctx, { kid }), accessClaims(ctx))
      : signHmac(strangerSecret, refreshHeader(ctx, { kid }), refreshClaims(ctx)))),
  ...[['a number', 1], ['an object', { $ne: null }], ['an array', [0]], ['null', null]].flatMap(([what, kid]) =>
    both(`kid ${String(what)}`, (ctx, kind) => kind === 'access'
      ? withStranger(accessHeader(ctx, { kid }), accessClaims(ctx))
      : signHmac(strangerSecret, refreshHeader(ctx, { kid }), refreshClaims(ctx)))),
  { name: 'kid of the HMAC refresh key on an ES256 token (as access token)', kind: 'access', token: (ctx) => withStranger(accessHeader(ctx, { kid: ctx.keys.refresh.kid }), accessClaims(ctx)) },
  { name: 'kid of the access key on a refresh token (as refresh token)', kind: 'refresh', token: (ctx) => signHmac(strangerSecret, refreshHeader(ctx, { kid: ctx.keys.access.kid }), refreshClaims(ctx)) },

  // keys offered by the token itself: must never be fetched nor used
  ...both('jku to an attacker JWKS', (ctx, kind) => kind === 'access'
    ? withStranger(accessHeader(ctx, { kid: 'attacker', jku: `${ctx.post}/jwks.json` }), accessClaims(ctx))
    : signHmac(strangerSecret, refreshHeader(ctx, { kid: 'attacker', jku: `${ctx.post}/jwks.json` }), refreshClaims(ctx))),
  ...both('x5u to an attacker certificate', (ctx, kind) => kind === 'access'
    ? withStranger(accessHeader(ctx, { kid: 'attacker', x5u: `${ctx.post}/cert.pem` }), accessClaims(ctx))
    : signHmac(strangerSecret, refreshHeader(ctx, { kid: 'attacker', x5u: `${ctx.post}/cert.pem` }), refreshClaims(ctx))),
  ...both('jku and x5u with the real kid', (ctx, kind) => kind === 'access'
    ? withStranger(accessHeader(ctx, { jku: `${ctx.post}/jwks.json`, x5u: `${ctx.post}/cert.pem` }), accessClaims(ctx))
    : signHmac(strangerSecret, refreshHeader(ctx, { jku: `${ctx.post}/jwks.json`, x5u: `${ctx.post}/cert.pem` }), refreshClaims(ctx))),
  { name: 'embedded jwk of the attacker key (as access token)', kind: 'access', token: (ctx) => withStranger(accessHeader(ctx, { kid: 'attacker', jwk: { ...stranger.jwk, kid: 'attacker', alg: 'ES256' } }), accessClaims(ctx)) },
  { name: 'embedded jwk of the attacker key with the real kid (as access token)', kind: 'access', token: (ctx) => withStranger(accessHeader(ctx, { jwk: { ...stranger.jwk, kid: ctx.keys.access.kid, alg: 'ES256' } }), accessClaims(ctx)) },
  { name: 'embedded oct jwk with the attacker secret (as refresh token)', kind: 'refresh', token: (ctx) => signHmac(strangerSecret, refreshHeader(ctx, { kid: 'attacker', jwk: { kty: 'oct', k: strangerSecret.toString('base64url'), kid: 'attacker' } }), refreshClaims(ctx)) },
  { name: 'x5c with a junk certificate chain (as access token)', kind: 'access', token: (ctx) => withStranger(accessHeader(ctx, { x5c: [Buffer.from('not a certificate').toString('base64')] }), accessClaims(ctx)) },

  // tampering with a genuine token
  ...both('tampered payload (scope and sub changed, signature kept)', (ctx, kind) => {
    const real = kind === 'access' ? ctx.victim.access : ctx.victim.refresh
    const [h, , s] = real.split('.')
    return `${h!}.${b64(claimsOf(ctx, kind, { sub: 'someone-else', scope: 'notes:read notes:write admin' }))}.${s!}`
  }),
  ...both('tampered header (kid re-encoded, signature kept)', (ctx, kind) => {
    const real = kind === 'access' ? ctx.victim.access : ctx.victim.refresh
    const [, p, s] = real.split('.')
    return `${b64({ ...partsOf(real).header, extra: 1 })}.${p!}.${s!}`
  }),
  ...both('signature stripped (empty third part)', (ctx, kind) => (kind === 'access' ? ctx.victim.access : ctx.victim.refresh).split('.').slice(0, 2).join('.') + '.'),
  ...both('signature truncated by one character', (ctx, kind) => (kind === 'access' ? ctx.victim.access : ctx.victim.refresh).slice(0, -1)),
  ...both('signature of another genuine token', (ctx, kind) => {
    const real = kind === 'access' ? ctx.victim.access : ctx.victim.refresh
    const other = kind === 'access' ? ctx.stranger.access : ctx.stranger.refresh
    return real.split('.').slice(0, 2).join('.') + '.' + other.split('.')[2]!
  }),

  // the wrong kind of genuine token
  { name: 'genuine refresh token used as access token', kind: 'access', token: (ctx) => ctx.victim.refresh },
  // (revocation and introspection take either kind by RFC 7009 / RFC 7662, so they are not asked)
  { name: 'genuine access token used as refresh token', kind: 'refresh', token: (ctx) => ctx.victim.access, skip: ['auth POST /oauth/revoke', 'auth POST /oauth/introspect'] },

  // expired and not yet valid, with a key nobody trusts
  ...both('expired, by an untrusted key', (ctx, kind) => kind === 'access'
    ? withStranger(accessHeader(ctx), accessClaims(ctx, { iat: nowSeconds() - 2 * hour, exp: nowSeconds() - hour }))
    : signHmac(strangerSecret, refreshHeader(ctx), refreshClaims(ctx, { iat: nowSeconds() - 2 * hour, exp: nowSeconds() - hour }))),
  ...both('nbf in the future, by an untrusted key', (ctx, kind) => kind === 'access'
    ? withStranger(accessHeader(ctx), accessClaims(ctx, { nbf: nowSeconds() + hour }))
    : signHmac(strangerSecret, refreshHeader(ctx), refreshClaims(ctx, { nbf: nowSeconds() + hour }))),
  ...both('iat in the future, by an untrusted key', (ctx, kind) => kind === 'access'
    ? withStranger(accessHeader(ctx), accessClaims(ctx, { iat: nowSeconds() + hour, exp: nowSeconds() + 2 * hour }))
    : signHmac(strangerSecret, refreshHeader(ctx), refreshClaims(ctx, { iat: nowSeconds() + hour, exp: nowSeconds() + 2 * hour }))),

  // the same with the real keys: only the claim checks stand in the way
  ...both('expired, by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, { iat: nowSeconds() - 2 * hour, exp: nowSeconds() - hour })), { genuineButExpired: true, ownVictim: true }),
  ...both('nbf in the future, by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, { nbf: nowSeconds() + hour })), { ownVictim: true }),
  ...both('iat in the future, by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, { iat: nowSeconds() + hour, exp: nowSeconds() + 2 * hour })), { ownVictim: true }),
  ...both('wrong iss, by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, { iss: 'https://evil.example' })), { ownVictim: true }),
  ...both('no iss, by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, { iss: undefined })), { ownVictim: true }),
  ...both('wrong aud, by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, { aud: 'another-api' })), { ownVictim: true }),
  ...both('no aud, by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, { aud: undefined })), { ownVictim: true }),
  ...both('aud an empty array, by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, { aud: [] })), { ownVictim: true }),
  { name: 'refresh token with the access audience, by the real key (as refresh token)', kind: 'refresh', ownVictim: true, token: (ctx) => withRealRefreshKey(ctx, refreshHeader(ctx), refreshClaims(ctx, { aud: ctx.sys.authConfig.AUDIENCE })) },
  { name: 'access token with the refresh audience (the issuer), by the real key (as access token)', kind: 'access', ownVictim: true, token: (ctx) => withRealAccessKey(ctx, accessHeader(ctx), accessClaims(ctx, { aud: ctx.sys.authConfig.ISSUER })) },
  ...['JWT', 'jwt', 'rt+jwt', 'at+jwt', undefined].map((typ): Case => ({
    name: `typ ${String(typ)} on an access-claims token, by the real access key (as ${typ === 'at+jwt' ? 'refresh' : 'access'} token)`,
    kind: typ === 'at+jwt' ? 'refresh' : 'access',
    ownVictim: true,
    // an access token is legitimately accepted by RFC 7009 revocation and RFC 7662 introspection
    ...(typ === 'at+jwt' ? { skip: ['auth POST /oauth/revoke', 'auth POST /oauth/introspect'] as Endpoint[] } : {}),
    token: (ctx) => withRealAccessKey(ctx, accessHeader(ctx, { typ }), accessClaims(ctx))
  })),
  ...['JWT', 'at+jwt', undefined].map((typ): Case => ({
    name: `typ ${String(typ)} on a refresh token, by the real refresh key (as refresh token)`,
    kind: 'refresh',
    ownVictim: true,
    token: (ctx) => withRealRefreshKey(ctx, refreshHeader(ctx, { typ }), refreshClaims(ctx))
  })),
  { name: 'refresh claims as access token (typ at+jwt), by the real refresh key (as access token)', kind: 'access', ownVictim: true, token: (ctx) => withRealRefreshKey(ctx, refreshHeader(ctx, { typ: ACCESS_TOKEN_TYP }), refreshClaims(ctx, { aud: ctx.sys.authConfig.AUDIENCE })) },
  ...[['sub a number', { sub: 42 }], ['sid an array', { sid: ['x'] }], ['exp a string', { exp: 'never' }], ['sub missing', { sub: undefined }], ['sid missing', { sid: undefined }], ['jti missing', { jti: undefined }]]
    .flatMap(([what, over]) => both(`claim ${String(what)}, by the real key`, (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), claimsOf(ctx, kind, over as Json)), { ownVictim: true })),

  // oversized and malformed
  // (by an untrusted key: a genuine token with a padded header would rightly pass)
  ...both('100 KB header', (ctx, kind) => withStranger(headerOf(ctx, kind, { pad: filler(100 * 1024) }), claimsOf(ctx, kind))),
  ...both('10 KB header', (ctx, kind) => withStranger(headerOf(ctx, kind, { pad: filler(10 * 1024) }), claimsOf(ctx, kind))),
  ...both('3.9 KB payload padding', (ctx, kind) => withStranger(headerOf(ctx, kind), claimsOf(ctx, kind, { pad: filler(3900) }))),
  ...both('two parts', (ctx, kind) => (kind === 'access' ? ctx.victim.access : ctx.victim.refresh).split('.').slice(0, 2).join('.')),
  ...both('four parts', (ctx, kind) => `${kind === 'access' ? ctx.victim.access : ctx.victim.refresh}.${b64('more')}`),
  ...both('one part', () => b64({ alg: 'none' })),
  ...both('three empty parts', () => '..'),
  ...both('not base64url', () => '!!!.@@@.###'),
  ...both('standard base64 with padding', (ctx, kind) => Buffer.from(JSON.stringify(headerOf(ctx, kind))).toString('base64') + '.' + Buffer.from('{"a":1}').toString('base64') + '.' + 'abc='),
  ...both('base64url that is not JSON', () => `${b64('not json')}.${b64('{"sub":')}.${b64('x')}`),
  ...both('JSON array as payload, signed by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), [1, 2, 3] as unknown as Json)),
  ...both('JSON null as payload, signed by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), null as unknown as Json)),
  ...both('JSON string as payload, signed by the real key', (ctx, kind) => signReal(ctx, kind, headerOf(ctx, kind), 'sub' as unknown as Json)),
  ...both('JSON array as header', (ctx, kind) => `${b64([headerOf(ctx, kind)])}.${b64(claimsOf(ctx, kind))}.${b64('sig')}`),
  ...both('JSON number as header', (ctx, kind) => `${b64(1)}.${b64(claimsOf(ctx, kind))}.${b64('sig')}`),
  ...both('header with duplicate alg keys (none last)', (ctx, kind) => `${Buffer.from(`{"alg":"${kind === 'access' ? ctx.keys.access.alg : 'HS256'}","typ":"${kind === 'access' ? ACCESS_TOKEN_TYP : REFRESH_TOKEN_TYP}","kid":"${kind === 'access' ? ctx.keys.access.kid : ctx.keys.refresh.kid}","alg":"none"}`).toString('base64url')}.${b64(claimsOf(ctx, kind))}.`),
  ...both('header with __proto__ and constructor keys', (ctx, kind) => `${Buffer.from(`{"alg":"none","__proto__":{"alg":"${kind === 'access' ? ctx.keys.access.alg : 'HS256'}"},"constructor":{"prototype":{"kid":"x"}}}`).toString('base64url')}.${b64(claimsOf(ctx, kind))}.`),
  ...both('deeply nested JSON payload', (ctx, kind) => `${b64(headerOf(ctx, kind))}.${Buffer.from('['.repeat(1500) + ']'.repeat(1500)).toString('base64url')}.${b64('sig')}`)
]

interface Row { attack: string, answers: Map<Endpoint, string> }
const rows: Row[] = []

const sys = await startTarget(t, { INTROSPECTION_CLIENTS: [{ id: 'rs', secret: 'secret' }] })
const keys = await readRealKeys(sys)
const jwks = await (await fetch(`${sys.auth}/.well-known/jwks.json`)).json() as { keys: Json[] }
const published = jwks.keys.find((k) => k.kid === keys.access.kid)!
const post = await listeningPost(t, { keys: [{ ...stranger.jwk, kid: 'attacker', alg: 'ES256', use: 'sig' }] })
const shared = await signUp(sys)
const strangerSession = await signUp(sys)
const base = { sys, keys, jwksKid: JSON.stringify(published), post: post.url, stranger: { access: strangerSession.access, refresh: strangerSession.refresh } }

function short (a: Answer): string {
  const code = typeof a.body === 'object' && a.body !== null ? (a.body.code ?? a.body.error ?? (a.body.active === false ? 'active:false' : '')) : ''
  return `${a.status}${code === '' ? '' : ' ' + String(code)}`
}

for (const c of cases) {
  t.test(`refused: ${c.name}`, async (t) => {
    const victim = c.ownVictim === true ? await signUp(sys) : shared
    const ctx: Ctx = { ...base, victim }
    const token = c.token(ctx)
    const row: Row = { attack: c.name, answers: new Map() }
    rows.push(row)
    for (const target of targets) {
      if (target.kind !== c.kind || c.skip?.includes(target.endpoint)) continue
      // logout and revocation accept a genuine token whose only fault is its expiry (DESIGN: logging out is always allowed)
      if (c.genuineButExpired === true && /logout|revoke|refresh \(access_token\)/.test(target.endpoint)) continue
      const answer = await target.send(ctx, token)
      row.answers.set(target.endpoint, short(answer))
      const want = target.expect(token)
      t.equal(answer.status, want.status, `${target.endpoint}: status`)
      if (want.code !== undefined) t.equal(answer.body?.code, want.code, `${target.endpoint}: code`)
      if (want.oauth !== undefined) t.equal(answer.body?.error, want.oauth, `${target.endpoint}: OAuth error`)
      if (want.challenge !== undefined) t.match(answer.headers.get('www-authenticate'), new RegExp(`^Bearer realm="[^"]+", error="${want.challenge}"`), `${target.endpoint}: RFC 6750 challenge`)
      if (target.endpoint === 'auth POST /oauth/introspect' && answer.status === 200) t.same(answer.body, { active: false }, 'introspection: inactive')
    }
    // nothing the forgery was sent to may have moved the victim's session
    t.equal((await send(`${sys.resource}/v1/me`, { headers: bearer(victim.access) })).status, 200, 'the victim is still signed in at the resource service')
    t.equal((await send(`${sys.auth}/v1/sessions`, { headers: bearer(victim.access) })).status, 200, 'the victim\'s session still exists')
    if (c.ownVictim === true) {
      const rotated = await send(`${sys.auth}/v1/refresh`, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ refresh_token: victim.refresh }) })
      t.equal(rotated.status, 200, 'the victim\'s refresh token is still the current one')
    }
  })
}

t.test('no token header made either service fetch anything from the attacker', async (t) => {
  t.same(post.hits, [])
})

t.test('the shared victim\'s refresh token still rotates after the whole corpus', async (t) => {
  const res = await send(`${sys.auth}/v1/refresh`, { method: 'POST', headers: JSON_CT, body: JSON.stringify({ refresh_token: shared.refresh }) })
  t.equal(res.status, 200)
})

t.test('both services are ready after the corpus', async (t) => {
  t.same(await bothReady(sys), [200, 200])
})

// endpoints that answer alike share a column, so the table fits in an issue note
const columns: Array<[string, RegExp]> = [
  ['resource (/v1/me, /v1/notes)', /^resource /],
  ['auth Bearer (/v1/sessions, logout, logout-all)', /^auth (GET \/v1\/sessions|DELETE \/v1\/sessions|POST \/v1\/logout-all|POST \/v1\/logout \(Bearer\))/],
  ['/v1/refresh access_token', /refresh \(access_token\)/],
  ['/v1/refresh, /v1/logout refresh_token', /^auth POST \/v1\/(refresh|logout \(refresh_token\))$/],
  ['/oauth/token', /oauth\/token/],
  ['/oauth/revoke', /oauth\/revoke/],
  ['/oauth/introspect', /oauth\/introspect/]
]

t.test('the answers, as a table for the issue note', async (t) => {
  const cell = (r: Row, re: RegExp) => [...new Set([...r.answers].filter(([e]) => re.test(e)).map(([, a]) => a.replace('RATCHET_', '')))].join(' / ') || '—'
  // a forgery tried as both kinds is one row: the two kinds never share a column
  const merged = new Map<string, Row>()
  for (const r of rows) {
    const name = r.attack.replace(/ \(as (access|refresh) token\)$/, '')
    const into = merged.get(name) ?? { attack: name, answers: new Map() }
    for (const [e, a] of r.answers) into.answers.set(e, a)
    merged.set(name, into)
  }
  const lines = [...merged.values()].map((r) => `| ${r.attack} | ${columns.map(([, re]) => cell(r, re)).join(' | ')} |`)
  t.comment(['| attack | ' + columns.map(([name]) => name).join(' | ') + ' |', '|' + ' --- |'.repeat(columns.length + 1), ...lines].join('\n'))
  t.ok(rows.length >= cases.length)
})
