import argon2 from 'argon2'
import { randomBytes } from 'node:crypto'
import { errors } from '@ratchet/shared'

export interface Argon2Params { memoryCost: number, timeCost: number, parallelism: number }

/**
 * Password hashing with argon2id. Hashes run on libuv's thread pool; at most
 * `maxConcurrent` at once, a bounded queue behind them, and beyond that 503,
 * so a flood of logins cannot starve the rest of the service.
 */
export function createPasswords (params: Argon2Params, maxConcurrent: number, maxQueued = maxConcurrent * 16) {
  const options = { type: argon2.argon2id, ...params }
  let running = 0
  const queue: Array<() => void> = []
  let dummy: Promise<string> | undefined

  async function slot<T> (work: () => Promise<T>): Promise<T> {
    if (running >= maxConcurrent) {
      if (queue.length >= maxQueued) throw new errors.RATCHET_BUSY()
      await new Promise<void>((resolve) => queue.push(resolve))
    } else {
      running++
    }
    try {
      return await work()
    } finally {
      const next = queue.shift()
      if (next) next(); else running--
    }
  }

  /** A hash of a random secret nobody knows, made once with the current parameters. */
  const dummyHash = () => (dummy ??= argon2.hash(randomBytes(32).toString('hex'), options))

  /** NFKC first, so the same password typed on two keyboards matches (NIST SP 800-63B). */
  const normalise = (password: string) => password.normalize('NFKC')

  return {
    hash: (password: string) => slot(() => argon2.hash(normalise(password), options)),
    async verify (hash: string, password: string): Promise<boolean> {
      return await slot(async () => {
        try { return await argon2.verify(hash, normalise(password)) } catch { return false }
      })
    },
    /**
     * Spends the same work as a real check against a hash nobody knows the
     * password of, so an unknown e-mail costs what a wrong password costs.
     */
    async verifyDummy (password: string): Promise<false> {
      const h = await dummyHash()
      await slot(async () => { try { await argon2.verify(h, normalise(password)) } catch {} })
      return false
    },
    needsRehash: (hash: string) => argon2.needsRehash(hash, params),
    warm: async () => { await dummyHash() }
  }
}

export type Passwords = ReturnType<typeof createPasswords>
