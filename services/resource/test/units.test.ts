import t from 'tap'
import { readBearer, isB64Token } from '@ratchet/fastify'
import { RevocationList } from '../src/revocations/list.js'
import { LruCache } from '../src/tokens/cache.js'

t.test('the Bearer scheme is read case-insensitively', async (t) => {
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) t.same(readBearer(`${scheme} abc.def.ghi`), { kind: 'token', token: 'abc.def.ghi' })
  t.same(readBearer('Bearer   abc'), { kind: 'token', token: 'abc' })
})

t.test('no header, or another scheme, is no bearer credentials', async (t) => {
  t.same(readBearer(undefined), { kind: 'none' })
  t.same(readBearer(''), { kind: 'none' })
  t.same(readBearer('Basic dXNlcjpwYXNz'), { kind: 'none' })
  t.same(readBearer('Bearerx abc'), { kind: 'none' })
})

t.test('Bearer without a token is malformed', async (t) => {
  t.match(readBearer('Bearer'), { kind: 'malformed' })
  t.match(readBearer('Bearer '), { kind: 'malformed' })
})

t.test('b64token syntax is checked', async (t) => {
  t.ok(isB64Token('abc.DEF-_~+/=='))
  t.notOk(isB64Token('abc def'))
  t.notOk(isB64Token('abc"'))
})

t.test('a session revocation denies that session only', async (t) => {
  const list = new RevocationList({ retainSeconds: 60 })
  list.revokeSession('s1')
  t.ok(list.isRevoked('s1', 'u1', 0))
  t.notOk(list.isRevoked('s2', 'u1', 0))
})

t.test('a user revocation denies sessions that started strictly before `before`', async (t) => {
  const list = new RevocationList({ retainSeconds: 60 })
  const before = 1764345600.123
  list.revokeUser('u1', before)
  t.ok(list.isRevoked('s', 'u1', list.relativeMs(1764345600.122)))
  t.notOk(list.isRevoked('s', 'u1', list.relativeMs(1764345600.123)), 'not the session that started at `before`')
  t.notOk(list.isRevoked('s', 'u1', list.relativeMs(1764345700)))
  t.notOk(list.isRevoked('s', 'u2', list.relativeMs(1764345600)))
  list.revokeUser('u1', before - 100)
  t.ok(list.isRevoked('s', 'u1', list.relativeMs(1764345600.122)), 'an older event does not shrink the window')
})

t.test('revocations are forgotten once no token they cover can be alive', async (t) => {
  let now = 1_764_345_600_000
  const list = new RevocationList({ retainSeconds: 905, now: () => now })
  list.revokeSession('a')
  list.revokeUser('u', now / 1000)
  now += 500_000
  list.revokeSession('b')
  list.sweep()
  t.same(list.size, { sessions: 2, users: 1 })
  now += 406_000
  list.sweep()
  t.same(list.size, { sessions: 1, users: 0 })
  t.notOk(list.isRevoked('a', 'x', 0))
  t.ok(list.isRevoked('b', 'x', 0))
  list.revokeSession('b') // a repeat moves it to the back with a later expiry
  now += 500_000
  list.sweep()
  t.ok(list.isRevoked('b', 'x', 0))
})

t.test('the LRU drops the least recently used entry', async (t) => {
  const c = new LruCache<number>(2)
  c.set('a', 1)
  c.set('b', 2)
  c.get('a')
  c.set('c', 3)
  t.equal(c.get('b'), undefined)
  t.equal(c.get('a'), 1)
  t.equal(c.get('c'), 3)
  const off = new LruCache<number>(0)
  off.set('a', 1)
  t.equal(off.size, 0)
})

t.test('the LRU keeps a hot entry whatever else comes and goes', async (t) => {
  const c = new LruCache<number>(4)
  c.set('hot', 0)
  for (let i = 0; i < 1000; i++) {
    t.equal(c.get('hot'), 0)
    c.set(`cold-${i}`, i)
  }
  t.equal(c.get('hot'), 0, 'used between every insert: never the one dropped')
  t.equal(c.size, 4)
  t.equal(c.get('cold-995'), undefined, 'the oldest cold entries went')
  t.equal(c.get('cold-999'), 999)
})

t.test('past its capacity, for many times its size, the LRU keeps exactly the most recently placed entries', async (t) => {
  // the reference: an array in placement order, a hit in the older half placed again at the end
  const max = 16
  const c = new LruCache<number>(max)
  const order: Array<{ key: string, tick: number }> = []
  let tick = 0
  let seed = 11
  const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n }
  let differences = 0
  let hits = 0
  for (let i = 0; i < 20_000; i++) {
    const key = `k${random(40)}`
    const at = order.findIndex((e) => e.key === key)
    const op = random(10)
    if (op < 6) {
      const got = c.get(key)
      if ((got !== undefined) !== (at !== -1)) differences++
      if (at !== -1) {
        hits++
        if (tick - order[at]!.tick >= max / 2) { order.splice(at, 1); order.push({ key, tick: ++tick }) }
      }
    } else if (op < 9) {
      c.set(key, i)
      if (at !== -1) order.splice(at, 1)
      order.push({ key, tick: ++tick })
      if (order.length > max) order.shift()
    } else {
      c.delete(key)
      if (at !== -1) order.splice(at, 1)
    }
    if (c.size !== order.length) differences++
  }
  t.equal(differences, 0, 'same hits, misses and size on every call')
  t.ok(hits > 1000, `hits and misses both seen (${hits} hits)`)
})
