import t from 'tap'
import { randomBytes } from 'node:crypto'
import { MemoryReplayCache, createNonceSource, dpopChallenge, requestHtu } from '../src/dpop/index.js'

t.test('a proof is accepted once within its lifetime, and again after it expired', async (t) => {
  const c = new MemoryReplayCache(10)
  t.equal(c.remember('a', 1000, 0), true)
  t.equal(c.remember('a', 1000, 500), false, 'replay within the window')
  t.equal(c.remember('a', 2000, 1000), true, 'the entry has expired with its proof')
})

t.test('expired entries are swept, so the cache holds only live proofs', async (t) => {
  const c = new MemoryReplayCache(10)
  for (let i = 0; i < 5; i++) c.remember(`k${i}`, 100, 0)
  c.remember('fresh', 300, 200)
  t.equal(c.size, 1)
})

t.test('a full cache drops its oldest entry and refuses proofs that would expire no later', async (t) => {
  const c = new MemoryReplayCache(2)
  t.ok(c.remember('a', 1000, 0))
  t.ok(c.remember('b', 1100, 0))
  t.ok(c.remember('c', 1200, 0), 'room is made by dropping a')
  t.equal(c.size, 2)
  t.equal(c.remember('a', 1000, 0), false, 'a dropped jti cannot be replayed')
  t.equal(c.remember('d', 900, 0), false, 'nor can any proof older than the horizon')
  t.ok(c.remember('e', 1300, 0), 'a fresher proof still gets in')
  t.throws(() => new MemoryReplayCache(0), RangeError)
})

t.test('a nonce is accepted in its window and the next, and only with our secret', async (t) => {
  const secret = randomBytes(32)
  const n = createNonceSource(secret, 60)
  const nonce = n.current(120_000)
  t.match(nonce, /^[\x21\x23-\x5b\x5d-\x7e]+$/, 'NQCHAR only (RFC 9449 §8.1)')
  t.ok(n.accepts(nonce, 120_000))
  t.ok(n.accepts(nonce, 179_999 + 60_000), 'the next window')
  t.notOk(n.accepts(nonce, 240_000), 'two windows on it is stale')
  t.notOk(n.accepts(nonce, 60_000), 'from the future')
  t.notOk(createNonceSource(randomBytes(32), 60).accepts(nonce, 120_000), 'another secret')
  t.notOk(n.accepts(nonce.slice(0, -2) + 'AA', 120_000), 'tampered')
  for (const bad of [undefined, 42, '', '.', 'x', 'zz.', '2.' + 'A'.repeat(100)]) t.notOk(n.accepts(bad, 120_000))
  t.throws(() => createNonceSource(Buffer.alloc(8), 60), RangeError)
})

t.test('the DPoP challenge names the error and the algorithms', async (t) => {
  t.equal(dpopChallenge({ algs: ['ES256', 'EdDSA'], error: 'invalid_dpop_proof', description: 'bad "htu"' }),
    'DPoP error="invalid_dpop_proof", error_description="bad \\"htu\\"", algs="ES256 EdDSA"')
  t.equal(dpopChallenge({ algs: ['ES256'], realm: 'ratchet' }), 'DPoP realm="ratchet", algs="ES256"')
})

t.test('the expected htu is the public base behind a proxy, else the request as received', async (t) => {
  t.equal(requestHtu({ publicUrl: '', protocol: 'http', host: '127.0.0.1:3002', path: '/v1/notes?x=1' }), 'http://127.0.0.1:3002/v1/notes')
  t.equal(requestHtu({ publicUrl: 'https://API.example.com/resource/', protocol: 'http', host: '10.0.0.5:3002', path: '/v1/notes' }), 'https://api.example.com/resource/v1/notes')
})

/**
 * The cache as it was when it found its oldest entry by iterating its Map (before the
 * PlacementQueue), with one change: a key remembered again after its proof expired
 * moves to the back (the Map kept its old place, so it stopped the sweep and was the
 * next one dropped, though it was the newest entry).
 */
class ReferenceReplayCache {
  readonly seen = new Map<string, number>()
  horizon = 0
  constructor (readonly max: number) {}
  remember (key: string, exp: number, now: number): boolean {
    if (exp <= this.horizon) return false
    const known = this.seen.get(key)
    if (known !== undefined && known > now) return false
    for (const [k, e] of this.seen) { if (e > now) break; this.seen.delete(k) }
    if (this.seen.size >= this.max) {
      const [k, e] = this.seen.entries().next().value!
      this.seen.delete(k)
      if (e > this.horizon) this.horizon = e
      if (exp <= this.horizon) return false
    }
    this.seen.delete(key)
    this.seen.set(key, exp)
    return true
  }
}

t.test('past its capacity, for many times its size, the cache answers as the Map-ordered one did', async (t) => {
  let seed = 7
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  const c = new MemoryReplayCache(50)
  const ref = new ReferenceReplayCache(50)
  let now = 0
  let differences = 0
  let accepted = 0
  for (let i = 0; i < 20_000; i++) {
    now += random(3)
    // lifetimes vary a little (iat spread), keys repeat (replays, and reuse after expiry)
    const key = `k${random(120)}`
    const exp = now + 100 + random(80)
    const got = c.remember(key, exp, now)
    if (got !== ref.remember(key, exp, now)) differences++
    if (got) accepted++
    if (c.size !== ref.seen.size) differences++
  }
  t.equal(differences, 0, 'same answers and same size on every call')
  t.ok(accepted > 1000 && accepted < 19_000, `both accepted and refused proofs were seen (${accepted} accepted)`)
})
