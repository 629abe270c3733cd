/**
 * The bound for scenario 1b: how many ES256 signatures of a JWT-sized input one core
 * verifies per second with node:crypto alone (no parsing, no claims, no HTTP).
 */
import { createPublicKey, createSign, generateKeyPairSync, verify, type JsonWebKey, type KeyObject } from 'node:crypto'
import { tell } from '../lib/proc.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)

/** The product's own token and public key when given (same bytes as the HTTP scenario), else a stand-in. */
function material (): { publicKey: KeyObject, input: Buffer, signature: Buffer } {
  const token = process.env.BENCH_TOKEN
  const jwk = process.env.BENCH_JWK
  if (token && jwk) {
    const [h = '', p = '', s = ''] = token.split('.')
    return { publicKey: createPublicKey({ key: JSON.parse(jwk) as JsonWebKey, format: 'jwk' }), input: Buffer.from(`${h}.${p}`), signature: Buffer.from(s, 'base64url') }
  }
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const input = Buffer.from('x'.repeat(420)) // about the size of an access token's signing input
  return { publicKey, input, signature: createSign('sha256').update(input).sign({ key: privateKey, dsaEncoding: 'ieee-p1363' }) }
}
const { publicKey, input, signature } = material()

function run (ms: number): number {
  const end = performance.now() + ms
  let n = 0
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) {
      if (!verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)) throw new Error('verify failed')
    }
    n += 50
  }
  return n / (ms / 1000)
}

run(Math.min(1000, seconds * 300)) // warm-up
const rates: number[] = []
for (let i = 0; i < rounds; i++) rates.push(run(seconds * 1000))
tell('result', { rates })
