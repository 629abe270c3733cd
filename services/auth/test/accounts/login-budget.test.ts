import t from 'tap'
import { call, startAuth, testClock, uniqueEmail } from '../helpers.js'

const on = { RATE_LIMITS: 'on' as const, RATE_LIMIT_LOGIN_PER_IP: 1000 }
const right = 'the-owners-password'
// The service's clock stands still (testClock): a back-off window (1 s after the free
// failures) cannot run out between two requests however long a password check takes
// on a loaded machine, so each answer below depends on the count alone.

const login = (url: string, email: string, password: string, cookie?: string) =>
  call(`${url}/v1/login`, { body: { email, password }, headers: cookie === undefined ? {} : { cookie } })

/** The device cookie a response set, as a request's Cookie header would send it back. */
function deviceCookieOf (headers: Headers): string | undefined {
  const set = headers.getSetCookie().find((c) => c.startsWith('__Host-ratchet_device='))
  return set?.split(';')[0]
}

t.test('parallel wrong passwords fired at once are checked one at a time by the back-off', async (t) => {
  const { url } = await startAuth(t, { ...on, LOGIN_FREE_FAILURES: 1, RATE_LIMIT_LOGIN_PER_ACCOUNT: 100 }, { now: testClock().now })
  const email = uniqueEmail()
  t.equal((await call(`${url}/v1/signup`, { body: { email, password: right } })).status, 201)
  const answers = await Promise.all(Array.from({ length: 10 }, async () => await login(url, email, 'a-wrong-guess')))
  const statuses = answers.map((a) => a.status).sort()
  t.same(statuses, [401, 429, 429, 429, 429, 429, 429, 429, 429, 429], 'one guess checked, nine refused unchecked')
  t.ok(answers.filter((a) => a.status === 429).every((a) => a.body.code === 'RATCHET_LOGIN_THROTTLED'))
})

t.test('a device cookie from an earlier login keeps the owner in while a guesser elsewhere is slowed', async (t) => {
  const { url } = await startAuth(t, { ...on, LOGIN_FREE_FAILURES: 2, LOGIN_BACKOFF_MAX: 900, RATE_LIMIT_LOGIN_PER_ACCOUNT: 4 }, { now: testClock().now })
  const email = uniqueEmail()
  t.equal((await call(`${url}/v1/signup`, { body: { email, password: right } })).status, 201)
  const first = await login(url, email, right)
  t.equal(first.status, 200)
  const device = deviceCookieOf(first.headers)
  t.ok(device, 'a successful login sets the device cookie')
  t.match(first.headers.getSetCookie().find((c) => c.startsWith('__Host-ratchet_device=')), /HttpOnly; Secure; SameSite=Strict/)

  // the guesser, without the cookie, spends the account's shared budget
  const guesses = []
  for (let i = 0; i < 6; i++) guesses.push((await login(url, email, `a-wrong-guess-${i}`)).status)
  t.same(guesses.slice(0, 2), [401, 401])
  t.ok(guesses.slice(2).every((s) => s === 429), 'then refused')
  t.equal((await login(url, email, right)).status, 429, 'the right password from an unknown device waits too')

  const owner = await login(url, email, right, device)
  t.equal(owner.status, 200, 'the owner on a known device is let in')
  t.equal(deviceCookieOf(owner.headers), undefined, 'a valid cookie is kept, not replaced')

  const other = uniqueEmail()
  t.equal((await call(`${url}/v1/signup`, { body: { email: other, password: right } })).status, 201)
  t.equal((await login(url, other, 'a-wrong-one-1')).status, 401)
  t.equal((await login(url, other, 'a-wrong-one-2')).status, 401)
  t.equal((await login(url, other, right, device)).status, 429, 'a cookie of another account buys nothing')
  const [name, value] = String(device).split('=')
  const tampered = `${name}=${String(value).slice(0, -2)}AA`
  t.equal((await login(url, email, right, tampered)).status, 429, 'nor does a tampered one')

  // the device's own budget backs off too: a stolen cookie is not a free pass
  t.equal((await login(url, email, 'a-wrong-one-a', device)).status, 401)
  t.equal((await login(url, email, 'a-wrong-one-b', device)).status, 401)
  t.equal((await login(url, email, right, device)).status, 429)
})
