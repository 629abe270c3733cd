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
