// The token service on its own, against the real Redis, with a clock the test moves:
// rotation and its grace window, reuse, access-token expiry, scope narrowing, and
// what each revocation ends and records.
import t from 'tap'
import { decodeJwt, tokenFixture } from '../helpers.js'

const SUB = 'user-1'
const device = { userAgent: 'Test/1.0', ip: '192.0.2.1' }

async function build (t: Parameters<typeof tokenFixture>[0], overrides: Parameters<typeof tokenFixture>[1] = {}) {
  const security: Array<{ event: string, detail: Record<string, unknown> }> = []
  const refreshes: string[] = []
  const fixture = await tokenFixture(t, { REFRESH_REUSE_GRACE: 10, ...overrides }, {
    onSecurityEvent: (event, detail) => { security.push({ event, detail }) },
    onRefresh: (result) => { refreshes.push(result) }
  })
  return { ...fixture, security, refreshes }
}

const sidOf = (accessToken: string) => decodeJwt(accessToken).payload.sid as string

t.test('a refresh rotates: new tokens for the same session, and the old refresh token answers again only within the grace window', async (t) => {
  const { tokens, clock, refreshes } = await build(t)
  const first = await tokens.startSession(SUB, { device })
  clock.advance(1000)
  const second = await tokens.refresh({ refreshToken: first.refresh_token })
  t.not(second.refresh_token, first.refresh_token)
  t.equal(sidOf(second.access_token), sidOf(first.access_token), 'the same session')
  // a client whose answer was lost retries with the token it had
  clock.advance(5000)
  const retried = await tokens.refresh({ refreshToken: first.refresh_token })
  t.equal(sidOf(retried.access_token), sidOf(first.access_token))
  t.same(refreshes, ['rotated', 'grace'])
})

t.test('an old refresh token past the grace window is reuse: the session ends for everyone, and the revocation is recorded', async (t) => {
  const { tokens, clock, security, refreshes, events } = await build(t)
  const first = await tokens.startSession(SUB, { device })
  const sid = sidOf(first.access_token)
  const second = await tokens.refresh({ refreshToken: first.refresh_token })
  clock.advance(11_000)
  await t.rejects(tokens.refresh({ refreshToken: first.refresh_token }), { code: 'RATCHET_INVALID_REFRESH_TOKEN', message: /already used/ })
  t.equal(await tokens.sessionLives(SUB, sid), false, 'the session is gone')
  await t.rejects(tokens.refresh({ refreshToken: second.refresh_token }), { code: 'RATCHET_INVALID_REFRESH_TOKEN' }, 'the thief\'s copy is dead too')
  t.match(security, [{ event: 'refresh_token_reuse', detail: { sub: SUB, sid } }])
  t.match(refreshes, ['rotated', 'reuse'])
  t.match((await events()).filter((e) => e.type === 'session.revoked'), [{ sub: SUB, sid, reason: 'refresh_token_reuse' }])
})

t.test('an access token past its lifetime and the leeway is refused, but logout may still read it', async (t) => {
  const { tokens, clock, config, callerClaims } = await build(t)
  t.equal((await callerClaims((await tokens.startSession(SUB)).access_token)).sub, SUB)
  // signed on a clock set back: verification reads the real clock (fast-jwt's own), so the
  // token's exp must be in the real past
  clock.advance(-(config.ACCESS_TOKEN_TTL + config.CLOCK_LEEWAY + 1) * 1000)
  const { access_token: token } = await tokens.startSession(SUB)
  t.match(await callerClaims(token), { statusCode: 401, code: 'RATCHET_INVALID_ACCESS_TOKEN', message: 'the token expired' })
  t.equal((await callerClaims(token, true)).sub, SUB, 'allowExpired reads it')
  // a token in a body (introspection) is held to the same expiry by the service's own verifiers
  t.match(await tokens.introspect(token), { active: false })
  t.equal(tokens.identify(token, 'access_token')?.sub, SUB, 'revocation reads it by signature alone')
})

t.test('a refresh may narrow the scope but never widen it, and must come from the client the token was issued to', async (t) => {
  const { tokens } = await build(t)
  const { refresh_token: refreshToken } = await tokens.startSession(SUB, { clientId: 'app', scope: 'notes:read notes:write' })
  await t.rejects(tokens.refresh({ refreshToken, clientId: 'another-app' }), { code: 'RATCHET_INVALID_REFRESH_TOKEN', message: /another client/ })
  await t.rejects(tokens.refresh({ refreshToken, scope: 'notes:read admin' }), { code: 'RATCHET_INVALID_SCOPE' })
  const narrowed = await tokens.refresh({ refreshToken, clientId: 'app', scope: 'notes:read' })
  t.equal(narrowed.scope, 'notes:read')
})

t.test('revokeUser ends the sessions that started before `before` and keeps a later one, with one user.revoked', async (t) => {
  const { tokens, clock, events } = await build(t)
  const old = await tokens.startSession(SUB)
  clock.advance(1000)
  const before = clock.now()
  clock.advance(1000)
  const later = await tokens.startSession(SUB)
  t.equal(await tokens.revokeUser(SUB, before, 'logout_all'), 1, 'one session ended')
  t.equal(await tokens.sessionLives(SUB, sidOf(old.access_token)), false)
  t.equal(await tokens.sessionLives(SUB, sidOf(later.access_token)), true)
  t.match((await events()).filter((e) => e.type === 'user.revoked'), [{ sub: SUB, reason: 'logout_all', before: before / 1000 }])
})

t.test('a login past MAX_SESSIONS_PER_USER ends the least recently used session and records why', async (t) => {
  const { tokens, clock, events } = await build(t, { MAX_SESSIONS_PER_USER: 2 })
  const oldest = await tokens.startSession(SUB)
  clock.advance(1000)
  const middle = await tokens.startSession(SUB)
  clock.advance(1000)
  await tokens.startSession(SUB)
  t.equal(await tokens.sessionLives(SUB, sidOf(oldest.access_token)), false, 'the oldest is evicted')
  t.equal(await tokens.sessionLives(SUB, sidOf(middle.access_token)), true)
  t.match((await events()).filter((e) => e.type === 'session.revoked'), [{ sub: SUB, sid: sidOf(oldest.access_token), reason: 'session_limit' }])
})
