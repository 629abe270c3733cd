// BoundedMemo: never more than its limit, the oldest forgotten first, and setting a key
// it holds again forgets nothing else.
import t from 'tap'
import { BoundedMemo } from '@ratchet/shared'

t.test('holds at most its limit and forgets the oldest entry first', async (t) => {
  const memo = new BoundedMemo<string, number>(3)
  for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) t.equal(memo.set(k, i), i, 'set returns the value')
  t.equal(memo.size, 3)
  t.same(['a', 'b', 'c', 'd', 'e'].map((k) => memo.get(k)), [undefined, undefined, 2, 3, 4])
})

t.test('setting a key it already holds, when full, forgets nothing', async (t) => {
  const memo = new BoundedMemo<string, number>(2)
  memo.set('a', 1)
  memo.set('b', 2)
  memo.set('b', 3)
  t.same([memo.get('a'), memo.get('b'), memo.size], [1, 3, 2])
})

t.test('a flood of distinct keys leaves the limit standing', async (t) => {
  const memo = new BoundedMemo<string, null>(64)
  for (let i = 0; i < 20_000; i++) memo.set(`k${i}`, null)
  t.equal(memo.size, 64)
  t.equal(memo.get('k19999'), null, 'the newest is kept')
  t.equal(memo.get('k19935'), undefined, 'the 65th newest is gone')
})
