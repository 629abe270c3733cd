// The client's DPoP signer: its proofs pass the server's own checks, its key cannot
// be exported, and it follows a server nonce over a real socket.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { accessTokenHash, createDpopVerifier, jwkThumbprint } from '@ratchet/shared'
import { createDpop, memoryKeyStore } from '../src/index.js'

const verifier = createDpopVerifier({ algs: ['ES256'], maxAge: 60, leeway: 5 })

t.test('a proof passes every server check, with ath for the token it goes with', async (t) => {
  const dpop = createDpop()
  const url = 'http://localhost:3002/v1/notes?page=2#x'
  const p = await dpop.proof('get', url, 'the-token')
  const v = verifier.verify({ proof: p, method: 'GET', url, accessToken: 'the-token', now: Date.now() })
  const jwk = await crypto.subtle.exportKey('jwk', (await dpop.keyPair()).publicKey)
  t.equal(v.jkt, jwkThumbprint(jwk as Record<string, unknown>), 'signed by the client key')
  const claims = JSON.parse(Buffer.from(p.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
  t.equal(claims.htu, 'http://localhost:3002/v1/notes', 'htu without query and fragment')
  t.equal(claims.ath, accessTokenHash('the-token'))
  const header = JSON.parse(Buffer.from(p.split('.')[0]!, 'base64url').toString()) as { jwk: Record<string, unknown> }
  t.same(Object.keys(header.jwk).sort(), ['crv', 'kty', 'x', 'y'], 'the public members only')
})

t.test('every proof has its own jti, and one key signs them all', async (t) => {
  const dpop = createDpop()
  const a = verifier.verify({ proof: await dpop.proof('POST', 'http://a/x'), method: 'POST', url: 'http://a/x', now: Date.now() })
  const b = verifier.verify({ proof: await dpop.proof('POST', 'http://a/x'), method: 'POST', url: 'http://a/x', now: Date.now() })
  t.not(a.jti, b.jti)
  t.equal(a.jkt, b.jkt)
})

t.test('the private key is not extractable', async (t) => {
  const { privateKey } = await createDpop().keyPair()
  t.equal(privateKey.extractable, false)
  t.equal(privateKey.algorithm.name, 'ECDSA')
  await t.rejects(crypto.subtle.exportKey('jwk', privateKey))
  await t.rejects(crypto.subtle.exportKey('pkcs8', privateKey))
})

t.test('the key store keeps the key across signers, and reset makes a new one', async (t) => {
  const keys = memoryKeyStore()
  const first = await createDpop({ keys }).keyPair()
  const second = createDpop({ keys })
  t.equal(await second.keyPair(), first, 'a second signer (a reload) uses the stored key')
  await second.reset()
  t.not(await second.keyPair(), first)
})

/** A server that wants a nonce: 400 use_dpop_nonce (as a token endpoint) or 401 (as a resource) until the proof has it. */
async function nonceServer (t: { teardown: (fn: () => unknown) => void }, status: 400 | 401) {
  const seen: Array<{ nonce: unknown, ath: unknown, jti: unknown, body: string }> = []
  let current = 'n-1'
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (c: Buffer) => { body += c.toString() })
    req.on('end', () => {
      const claims = JSON.parse(Buffer.from(String(req.headers.dpop).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
      seen.push({ nonce: claims.nonce, ath: claims.ath, jti: claims.jti, body })
      res.setHeader('dpop-nonce', current)
      if (claims.nonce === current) { res.end('ok'); return }
      res.statusCode = status
      if (status === 401) res.setHeader('www-authenticate', 'DPoP error="use_dpop_nonce", algs="ES256"')
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ error: 'use_dpop_nonce' }))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/thing`, seen, rotate: (n: string) => { current = n } }
}

for (const status of [400, 401] as const) {
  t.test(`a ${status} asking for a nonce is retried once with it, body and all`, async (t) => {
    const server = await nonceServer(t, status)
    const fetchDpop = createDpop().wrap(fetch)
    const res = await fetchDpop(server.url, { method: 'POST', body: 'grant_type=x', headers: { authorization: 'DPoP tok' } })
    t.equal(res.status, 200)
    t.equal(server.seen.length, 2)
    t.same(server.seen.map((s) => s.nonce), [undefined, 'n-1'])
    t.same(server.seen.map((s) => s.body), ['grant_type=x', 'grant_type=x'])
    t.equal(server.seen[1]!.ath, accessTokenHash('tok'))
    t.not(server.seen[0]!.jti, server.seen[1]!.jti, 'a fresh proof for the retry')

    // the nonce is remembered: the next request carries it from the start
    t.equal((await fetchDpop(server.url, { method: 'POST' })).status, 200)
    t.equal(server.seen.length, 3)
  })
}

t.test('a server that keeps refusing the nonce gets one retry, not a loop', async (t) => {
  const server = await nonceServer(t, 400)
  const fetchDpop = createDpop().wrap(fetch)
  await fetchDpop(server.url, { method: 'POST' })
  server.rotate('n-2')
  t.equal(server.seen.length, 2)
  // a stale nonce: refused once, retried with n-2, accepted
  t.equal((await fetchDpop(server.url, { method: 'POST' })).status, 200)
  t.equal(server.seen.length, 4)
  // a server that asks again with the nonce the proof carried is answered as it is
  server.rotate('never')
  const stubborn = await createDpop().wrap(async (input, init) => {
    const res = await fetch(input, init)
    return new Response(await res.text(), { status: res.status, headers: { 'content-type': 'application/json', 'dpop-nonce': 'n-2' } })
  })(server.url, { method: 'POST' })
  t.equal(stubborn.status, 400)
})
