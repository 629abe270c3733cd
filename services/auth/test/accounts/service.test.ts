// The accounts service on its own, against the real Redis, with a clock the test
// moves: the order in which sessions end, the events it records, the back-off.
import t from 'tap'
import argon2 from 'argon2'
import { redisKeys } from '@ratchet/shared'
import { createUserStore } from '../../src/stores/users.js'
import { createPasswords } from '../../src/passwords.js'
import { createLoginBackoff } from '../../src/stores/login-backoff.js'
import { createAccountService } from '../../src/accounts/service.js'
import { decodeJwt, tokenFixture, uniqueEmail, type Test } from '../helpers.js'

const PASSWORD = 'the first password'
const NEW_PASSWORD = 'the second password'
const device = { userAgent: 'Test/1.0', ip: '192.0.2.1' }

async function build (t: Test) {
  const { config, clock, redis, log, sessions, outbox, tokens, events } = await tokenFixture(t, { LOGIN_FREE_FAILURES: 2, LOGIN_BACKOFF_MAX: 60 })
  const users = createUserStore(redis)
  // stronger than the hashes made below with `weak`: "current parameters" is visible
  const params = { memoryCost: 19456, timeCost: 3, parallelism: 1 }
  const passwords = createPasswords(params, 2)
  const backoff = createLoginBackoff(redis, { free: config.LOGIN_FREE_FAILURES, maxMs: config.LOGIN_BACKOFF_MAX * 1000, ttlMs: config.LOGIN_FAILURE_TTL * 1000 })
  const accounts = createAccountService({ users, passwords, tokens, outbox, backoff, now: clock.now, log: () => log })
  return { accounts, tokens, users, sessions, redis, clock, backoff, events, params, prefix: config.REDIS_PREFIX }
}

const callerOf = (accessToken: string) => decodeJwt(accessToken).payload as { sub: string, sid: string }

t.test('a password change ends every session that started before it, the caller\'s too, and starts one that survives', async (t) => {
  const { accounts, tokens, clock, events } = await build(t)
  const email = uniqueEmail()
  const a = await accounts.signUp(email, PASSWORD, device)
  clock.advance(1000)
  const b = await accounts.logIn(email, PASSWORD, device)
  const sub = a.user.id
  const changed = await accounts.changePassword(callerOf(a.access_token), PASSWORD, NEW_PASSWORD, { userAgent: 'Changer/2', ip: '192.0.2.9' })

  const live = await tokens.listSessions(sub)
  t.same(live.map((s) => s.sid), [callerOf(changed.access_token).sid], 'only the new session is left')
  t.match(live[0], { user_agent: 'Changer/2', ip: '192.0.2.9' })
  await t.rejects(tokens.refresh({ refreshToken: a.refresh_token }), { code: 'RATCHET_INVALID_REFRESH_TOKEN' })
  await t.rejects(tokens.refresh({ refreshToken: b.refresh_token }), { code: 'RATCHET_INVALID_REFRESH_TOKEN' })
  t.equal((await tokens.refresh({ refreshToken: changed.refresh_token })).token_type, 'Bearer')

  const revoked = (await events()).filter((e) => e.type === 'user.revoked')
  t.equal(revoked.length, 1, 'one user.revoked for all of them')
  t.match(revoked[0], { sub, reason: 'password_changed' })
  // resource services compare auth_time with `before`: the old tokens fall, the new one stands
  const newAuthTime = decodeJwt(changed.access_token).payload.auth_time as number
  const before = Number(revoked[0]?.before)
  t.ok(decodeJwt(b.access_token).payload.auth_time < before, 'the latest old session is before the boundary')
  t.ok(newAuthTime >= before, 'the new session is not')
})

t.test('a password change stores a hash of the new password made with the current parameters', async (t) => {
  const { accounts, users, params } = await build(t)
  const email = uniqueEmail()
  // an account whose hash predates a raise of the parameters
  const weak = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 })
  const user = await users.create(email, weak, Date.now())
  const first = await accounts.logIn(email, PASSWORD, device)
  t.ok(user)
  await accounts.changePassword(callerOf(first.access_token), PASSWORD, NEW_PASSWORD, device)
  const stored = await users.findByEmail(email)
  t.ok(stored !== undefined && await argon2.verify(stored.hash, NEW_PASSWORD), 'the new password verifies')
  t.notOk(argon2.needsRehash(stored!.hash, params), 'made with the current parameters')
  t.match(stored!.hash, /^\$argon2id\$v=19\$m=19456,t=3,p=1\$/)
  await t.rejects(accounts.logIn(email, PASSWORD, device), { code: 'RATCHET_INVALID_CREDENTIALS' })
})

t.test('a wrong current password is a failed login: same error, counted, and throttled after the free tries', async (t) => {
  const { accounts, clock, backoff, redis } = await build(t)
  const email = uniqueEmail()
  const a = await accounts.signUp(email, PASSWORD, device)
  const caller = callerOf(a.access_token)
  await t.rejects(accounts.changePassword(caller, 'not the password', NEW_PASSWORD, device), { code: 'RATCHET_INVALID_CREDENTIALS', statusCode: 401 })
  await t.rejects(accounts.deleteAccount(caller, 'not the password either'), { code: 'RATCHET_INVALID_CREDENTIALS', statusCode: 401 })
  // asking counts a try when none is due, so ask as the next login would: it must be told to wait
  const wait = await backoff.attempt(redisKeys.loginFailures(email), clock.now())
  t.ok(wait > 0, 'the login back-off now makes this account wait')
  // the right password is refused too while the wait lasts, as at login
  await t.rejects(accounts.changePassword(caller, PASSWORD, NEW_PASSWORD, device), { code: 'RATCHET_LOGIN_THROTTLED', statusCode: 429, retryAfter: Math.ceil(wait / 1000) })
  clock.advance(wait)
  const changed = await accounts.changePassword(caller, PASSWORD, NEW_PASSWORD, device)
  t.equal(changed.token_type, 'Bearer', 'after the wait the right password works')
  t.equal(await redis.exists(redisKeys.loginFailures(email)), 0, 'and clears the failures')
})

t.test('deleting the account ends its sessions, records user.revoked then user.deleted, and frees the address', async (t) => {
  const { accounts, tokens, users, events, redis } = await build(t)
  const email = uniqueEmail()
  const a = await accounts.signUp(email, PASSWORD, device)
  const b = await accounts.logIn(email, PASSWORD, device)
  const sub = a.user.id
  await accounts.deleteAccount(callerOf(a.access_token), PASSWORD)

  t.same(await tokens.listSessions(sub), [])
  await t.rejects(tokens.refresh({ refreshToken: b.refresh_token }), { code: 'RATCHET_INVALID_REFRESH_TOKEN' })
  t.equal(await users.findById(sub), undefined)
  t.equal(await redis.exists(redisKeys.user(sub), redisKeys.email(email)), 0, 'no record of the account is left')
  const mine = (await events()).filter((e) => e.sub === sub)
  t.same(mine.map((e) => [e.type, e.reason]), [['user.revoked', 'account_deleted'], ['user.deleted', undefined]])

  // deleting again with the same token: the session is gone, a 401
  await t.rejects(accounts.deleteAccount(callerOf(a.access_token), PASSWORD), { code: 'RATCHET_INVALID_ACCESS_TOKEN', statusCode: 401 })
  await t.rejects(accounts.logIn(email, PASSWORD, device), { code: 'RATCHET_INVALID_CREDENTIALS' })
  const again = await accounts.signUp(email, NEW_PASSWORD, device)
  t.not(again.user.id, sub, 'the address signs up again, as a new account')
})

t.test('removing a deleted user again (a replayed event) leaves an account that took the address since', async (t) => {
  const { accounts, users } = await build(t)
  const email = uniqueEmail()
  const first = await accounts.signUp(email, PASSWORD, device)
  await accounts.deleteAccount(callerOf(first.access_token), PASSWORD)
  const second = await accounts.signUp(email, PASSWORD, device)
  await users.remove(first.user.id)
  t.match(await users.findByEmail(email), { id: second.user.id })
  t.match(await accounts.account(callerOf(second.access_token)), { id: second.user.id, email })
})

t.test('the account view: id, e-mail and when it was created; refused once the session ended', async (t) => {
  const { accounts, tokens, clock } = await build(t)
  const email = uniqueEmail()
  const created = clock.now()
  const a = await accounts.signUp(`  ${email.toUpperCase()} `, PASSWORD, device)
  t.same(await accounts.account(callerOf(a.access_token)), { id: a.user.id, email, created_at: created / 1000 })
  await tokens.revokeSession(a.user.id, callerOf(a.access_token).sid, 'logout')
  await t.rejects(accounts.account(callerOf(a.access_token)), { code: 'RATCHET_INVALID_ACCESS_TOKEN' })
})

t.test('sessions list newest first with the device they logged in from, in pages', async (t) => {
  const { accounts, tokens, clock } = await build(t)
  const email = uniqueEmail()
  const first = await accounts.signUp(email, PASSWORD, { userAgent: 'One', ip: '192.0.2.1' })
  clock.advance(1000)
  const second = await accounts.logIn(email, PASSWORD, { userAgent: 'Two', ip: '192.0.2.2' })
  clock.advance(1000)
  const third = await accounts.logIn(email, PASSWORD, {})
  clock.advance(5000)
  await tokens.refresh({ refreshToken: second.refresh_token })
  const sub = first.user.id

  const all = await tokens.sessionPage(sub, { limit: 100 })
  t.same(all.sessions.map((s) => s.sid), [third, second, first].map((r) => callerOf(r.access_token).sid))
  t.equal(all.nextCursor, null)
  t.match(all.sessions[2], { user_agent: 'One', ip: '192.0.2.1' })
  t.match(all.sessions[0], { user_agent: null, ip: null })
  t.equal(all.sessions[1]!.last_used_at, clock.now() / 1000, 'last use is the last refresh')
  t.equal(all.sessions[0]!.last_used_at, all.sessions[0]!.created_at, 'or the login when there was none')

  const page1 = await tokens.sessionPage(sub, { limit: 2 })
  t.equal(page1.sessions.length, 2)
  t.type(page1.nextCursor, 'string')
  const page2 = await tokens.sessionPage(sub, { limit: 2, cursor: page1.nextCursor! })
  t.same([...page1.sessions, ...page2.sessions].map((s) => s.sid), all.sessions.map((s) => s.sid))
  t.equal(page2.nextCursor, null)
  await t.rejects(tokens.sessionPage(sub, { limit: 2, cursor: 'bm90LWEtY3Vyc29y' }), { code: 'RATCHET_INVALID_CURSOR', statusCode: 400 })
})

t.test('logout-others ends every session but the caller\'s, one session.revoked each', async (t) => {
  const { accounts, tokens, events } = await build(t)
  const email = uniqueEmail()
  const a = await accounts.signUp(email, PASSWORD, device)
  const b = await accounts.logIn(email, PASSWORD, device)
  const c = await accounts.logIn(email, PASSWORD, device)
  const { sub, sid } = callerOf(b.access_token)
  t.equal(await tokens.revokeOthers(sub, sid), 2)
  t.same((await tokens.listSessions(sub)).map((s) => s.sid), [sid])
  const revoked = (await events()).filter((e) => e.type === 'session.revoked')
  t.same(revoked.map((e) => e.sid).sort(), [a, c].map((r) => callerOf(r.access_token).sid).sort())
  t.ok(revoked.every((e) => e.reason === 'logout_others'))
})

t.test('a long user agent keeps the session record compact: it is stored once, shared, and the session holds its id', async (t) => {
  const { accounts, tokens, redis, clock, prefix } = await build(t)
  const email = uniqueEmail()
  const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
  const a = await accounts.signUp(email, PASSWORD, { userAgent: ua, ip: '2001:db8::1' })
  clock.advance(1000)
  const b = await accounts.logIn(email, PASSWORD, { userAgent: ua, ip: '2001:db8::2' })
  for (const r of [a, b]) {
    const { sub, sid } = callerOf(r.access_token)
    // every value within hash-max-listpack-value: a ~1 KB hashtable otherwise
    t.equal(await redis.call('OBJECT', 'ENCODING', prefix + redisKeys.session(sub, sid)), 'listpack')
  }
  const list = await tokens.listSessions(a.user.id)
  t.same(list.map((s) => [s.user_agent, s.ip]), [[ua, '2001:db8::2'], [ua, '2001:db8::1']])
})
