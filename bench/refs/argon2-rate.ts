/**
 * The bound for scenario 3: argon2id verifications per second with the product's
 * parameters, on the same libuv thread pool (same UV_THREADPOOL_SIZE) and the same
 * number of computations in flight as the auth service allows.
 */
import argon2 from 'argon2'
import { tell } from '../lib/proc.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const concurrency = Number(process.env.ARGON2_MAX_CONCURRENT ?? 4)
const params = {
  type: argon2.argon2id,
  memoryCost: Number(process.env.ARGON2_MEMORY_KIB ?? 19456),
  timeCost: Number(process.env.ARGON2_TIME_COST ?? 2),
  parallelism: Number(process.env.ARGON2_PARALLELISM ?? 1)
}
const hash = await argon2.hash('correct horse battery staple', params)

async function run (ms: number): Promise<number> {
  const end = performance.now() + ms
  let n = 0
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      if (!await argon2.verify(hash, 'correct horse battery staple')) throw new Error('verify failed')
      n++
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: concurrency }, worker))
  return n / ((performance.now() - start) / 1000)
}

await run(Math.min(2000, seconds * 300))
const rates: number[] = []
for (let i = 0; i < rounds; i++) rates.push(await run(seconds * 1000))
tell('result', { rates, params, concurrency, threadpool: Number(process.env.UV_THREADPOOL_SIZE ?? 4) })
