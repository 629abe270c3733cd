import t from 'tap'
import { connect } from 'node:net'
import { call, startAuth } from './helpers.js'
import { start as startResource } from '../../resource/test/helpers.js'

const password = 'input-bounds-password'

t.test('e-mail addresses with invisible or direction-changing characters are refused with a 400 naming the field', async (t) => {
  const { url } = await startAuth(t)
  const invisible: Array<[string, string]> = [['a control character', '\u0007'], ['a zero-width space', '\u200b'], ['a zero-width joiner', '\u200d'], ['a soft hyphen', '\u00ad'], ['a right-to-left override', '\u202e'], ['a bidi isolate', '\u2066'], ['a byte-order mark', '\ufeff']]
  for (const [name, ch] of invisible) {
    const res = await call(`${url}/v1/signup`, { body: { email: `ad${ch}min@example.com`, password } })
    t.equal(res.status, 400, name)
    t.match(res.body.message, /email/, `${name}: the message names the field`)
  }
  t.equal((await call(`${url}/v1/signup`, { body: { email: 'plain.user@example.com'.replace('plain', `p${Date.now()}`), password } })).status, 201, 'an ordinary address is fine')
})

t.test('the 254-character limit holds after NFKC, which expands some characters many times over', async (t) => {
  const { url } = await startAuth(t)
  // U+FDFA is one character that NFKC turns into 18
  const email = `${'\ufdfa'.repeat(20)}@example.com`
  t.ok(email.length <= 254 && email.normalize('NFKC').length > 254)
  const signup = await call(`${url}/v1/signup`, { body: { email, password } })
  t.equal(signup.status, 400)
  t.match(signup.body, { code: 'RATCHET_INVALID_EMAIL', message: /email must NOT have more than 254 characters after NFKC/ })
  t.equal((await call(`${url}/v1/login`, { body: { email, password } })).status, 400, 'login refuses it the same way')
})

/** Opens a connection, sends the head of a request that promises a body, then stays silent; resolves when the server closes it. */
async function silentAfterHeaders (url: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST /v1/login HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":`)
    })
    let answer = ''
    socket.on('data', (d) => { answer += d.toString() })
    socket.on('close', () => resolve(answer))
    socket.on('error', reject)
    // a hang guard, not a timing assertion: without a timeout the server never closes it
    setTimeout(() => { socket.destroy(); reject(new Error('the server held the connection for 10 s')) }, 10_000).unref()
  })
}

t.test('a connection silent after its headers is closed by both services, not held for ever', async (t) => {
  const auth = await startAuth(t, { CONNECTION_TIMEOUT: 1, REQUEST_TIMEOUT: 2 })
  await silentAfterHeaders(auth.url)
  t.pass('the auth service closed it')
  const resource = await startResource(t, { config: { CONNECTION_TIMEOUT: 1, REQUEST_TIMEOUT: 2 } })
  await silentAfterHeaders(resource.url)
  t.pass('the resource service closed it')
})
