import type { FastifyBaseLogger } from 'fastify'
import { invalidToken } from '@ratchet/fastify'
import { errors, numericDate, redisKeys, RevocationReason, type AccessTokenClaims, type TokenResponse } from '@ratchet/shared'
import { normaliseEmail, type UserRecord, type UserStore } from '../stores/users.js'
import type { DeviceInfo, SessionState } from '../stores/sessions.js'
import type { Passwords } from '../passwords.js'
import type { TokenService } from '../tokens/service.js'
import type { Outbox } from '../events/outbox.js'
import type { LoginBackoff } from '../plugins/login-backoff.js'

export interface AccountsDeps {
  users: UserStore
  passwords: Passwords
  tokens: TokenService
  outbox: Pick<Outbox, 'userDeleted'>
  /** the login back-off (RATE_LIMITS=on): a wrong password on any route counts towards it */
  backoff?: LoginBackoff | undefined
  /** ms since the epoch; injected so tests can move time */
  now: () => number
  /** the logger to write security lines to (the request's, when there is one) */
  log: () => FastifyBaseLogger
}

/** Who is asking: the claims of a verified access token. */
export type Caller = Pick<AccessTokenClaims, 'sub' | 'sid'>

export interface AccountView { id: string, email: string, created_at: number }

/**
 * Account policy: sign-up, login, password change, deletion. Password checks,
 * their back-off and the order in which sessions end live here; the routes only
 * translate HTTP, and the stores only keep data.
 */
export function createAccountService (deps: AccountsDeps) {
  const { users, passwords, tokens, now } = deps

  /**
   * Re-checks the signed-in user's password before a change that needs it. It
   * is a login attempt in all but name: an attacker holding a stolen access
   * token must not get an unthrottled password oracle.
   */
  async function confirmPassword (caller: Caller, password: string): Promise<{ user: UserRecord, session: SessionState }> {
    const session = await tokens.requireLiveSession(caller)
    const account = await users.findById(caller.sub)
    // a live session of an account deleted a moment ago: as if the password were wrong
    if (account === undefined) {
      await passwords.verifyDummy(password)
      throw new errors.RATCHET_INVALID_CREDENTIALS()
    }
    // the account's own login budget: the wait is checked and this try counted in one step
    const budget = redisKeys.loginFailures(account.email)
    const wait = await deps.backoff?.attempt(budget, now()) ?? 0
    if (wait > 0) {
      const seconds = Math.max(1, Math.ceil(wait / 1000))
      throw Object.assign(new errors.RATCHET_LOGIN_THROTTLED(seconds), { retryAfter: seconds })
    }
    let user: UserRecord | undefined
    try {
      const found = await users.findByEmail(account.email)
      if (found !== undefined && found.id === caller.sub && await passwords.verify(found.hash, password)) user = found
    } catch (err) {
      // neither a success nor a failure (Redis away, too busy to hash): give the try back
      await deps.backoff?.refund(budget).catch(() => {})
      throw err
    }
    if (user === undefined) {
      // counted already, by the attempt above; the same 401 and body as a failed login
      deps.log().info({ event: 'login_failed' }, 'login failed')
      throw new errors.RATCHET_INVALID_CREDENTIALS()
    }
    await deps.backoff?.succeeded(budget)
    return { user, session }
  }

  return {
    async signUp (email: string, password: string, device: DeviceInfo): Promise<TokenResponse & { user: { id: string, email: string } }> {
      const address = normaliseEmail(email)
      const hash = await passwords.hash(password)
      const user = await users.create(address, hash, now())
      if (user === undefined) throw new errors.RATCHET_EMAIL_TAKEN()
      deps.log().info({ event: 'signup', sub: user.id }, 'account created')
      return { ...await tokens.startSession(user.id, { device }), user: { id: user.id, email: address } }
    },

    /** The per-account back-off of login itself is applied around the route (plugins/rate-limit.ts). */
    async logIn (email: string, password: string, device: DeviceInfo): Promise<TokenResponse> {
      const address = normaliseEmail(email)
      const user = await users.findByEmail(address)
      // same work, status and body for an unknown address and a wrong password
      const ok = user === undefined
        ? await passwords.verifyDummy(password)
        : await passwords.verify(user.hash, password)
      if (user === undefined || !ok) {
        deps.log().info({ event: 'login_failed' }, 'login failed')
        throw new errors.RATCHET_INVALID_CREDENTIALS()
      }
      if (passwords.needsRehash(user.hash)) {
        // parameters were raised since this hash was made: upgrade it while we hold the password
        await users.updateHash(address, await passwords.hash(password))
      }
      deps.log().info({ event: 'login', sub: user.id }, 'login')
      return await tokens.startSession(user.id, { device })
    },

    async account (caller: Caller): Promise<AccountView> {
      await tokens.requireLiveSession(caller)
      const account = await users.findById(caller.sub)
      if (account === undefined) throw invalidToken('the account was deleted')
      return { id: account.id, email: account.email, created_at: numericDate(account.createdAt) }
    },

    /**
     * A new password signs every other device out: the new hash first (so no
     * login with the old password can begin after this point), then every
     * session that started before now ends (the caller's too), then the caller
     * gets a session that starts exactly at that boundary and so survives it.
     */
    async changePassword (caller: Caller, currentPassword: string, newPassword: string, device: DeviceInfo): Promise<TokenResponse> {
      const { user, session } = await confirmPassword(caller, currentPassword)
      // current argon2 parameters, whatever the old hash was made with
      await users.updateHash(user.email, await passwords.hash(newPassword))
      const before = now() + 1
      await tokens.revokeUser(caller.sub, before, RevocationReason.passwordChanged)
      deps.log().info({ event: 'password_changed', sub: caller.sub }, 'password changed')
      return await tokens.startSession(caller.sub, { clientId: session.clientId, scope: session.scope, device, startedAt: before })
    },

    /**
     * Deletes the account. Sessions end first (user.revoked), then user.deleted
     * tells every service to forget the user (the resource service drops the
     * notes; our own consumer repeats the removal, so a deletion cut short here
     * still completes), then the record and the address go.
     */
    async deleteAccount (caller: Caller, password: string): Promise<void> {
      await confirmPassword(caller, password)
      await tokens.revokeUser(caller.sub, now() + 1, RevocationReason.accountDeleted)
      await deps.outbox.userDeleted({ sub: caller.sub, at: numericDate(now()) })
      await users.remove(caller.sub)
      deps.log().info({ event: 'account_deleted', sub: caller.sub }, 'account deleted')
    }
  }
}

export type AccountService = ReturnType<typeof createAccountService>
