// The web app in a real Chromium against the real services, with no reuse grace
// (a second refresh of one token would be a reuse and end the session) and
// six-second access tokens (refreshed at half-life, so every three seconds).
import t from 'tap'
import { jwkThumbprint } from '@ratchet/shared'
import { expect, type BrowserContext, type Page } from './expect.js'
import { ifChromium, consoleErrors, eventually, launchChromium, startStack, type RefreshSeen } from './stack.js'

const TTL = 6
const PASSWORD = 'correct horse battery staple'

/** What the page finds of its DPoP key in IndexedDB. */
interface StoredKey {
  isCryptoKey: boolean
  type: string
  extractable: boolean
  algorithm: unknown
  usages: string[]
  /** what exportKey('jwk' | 'pkcs8') of the private key did: 'exported', or the name of its error */
  asJwk: string
  asPkcs8: string
  publicJwk: Record<string, string>
}

const decodeSegment = (segment: string): Record<string, any> => JSON.parse(Buffer.from(segment, 'base64url').toString()) // any: a JWT part, read loosely

await ifChromium(t, run)

async function run () {
  const stack = await startStack(t, { auth: { ACCESS_TOKEN_TTL: TTL, CLOCK_LEEWAY: 0, REFRESH_REUSE_GRACE: 0 } })
  const browser = await launchChromium(t)
  const errors: string[] = []
  const email = `web-${Date.now().toString(36)}@example.com`
  const context = await browser.newContext()
  const open = async (ctx: BrowserContext = context): Promise<Page> => {
    const page = await ctx.newPage()
    consoleErrors(page, errors)
    await page.goto(stack.webUrl)
    return page
  }
  const status = (page: Page) => page.getByRole('status')
  const tabs: Page[] = [await open()]
  const first = tabs[0]!

  await t.test('create an account and sign in, by the accessible names', async (t) => {
    await expect(status(first)).toHaveText('Signed out')
    await first.getByLabel('Email').fill(email)
    await first.getByLabel('Password').fill(PASSWORD)
    await first.getByRole('button', { name: 'Create account' }).click()
    await expect(status(first)).toHaveText(`Signed in as ${email}`)
    await first.getByRole('button', { name: 'Sign out', exact: true }).click()
    await expect(status(first)).toHaveText('Signed out')
    await first.getByLabel('Email').fill(email)
    await first.getByLabel('Password').fill('not the password')
    await first.getByRole('button', { name: 'Sign in' }).click()
    await expect(status(first)).toHaveText(/^Signed out: .+/)
    // the refused attempt logs the browser's own "Failed to load resource: 401"
    errors.length = 0
    await first.getByLabel('Password').fill(PASSWORD)
    await first.getByRole('button', { name: 'Sign in' }).click()
    await expect(status(first)).toHaveText(`Signed in as ${email}`)
    await expect(first.getByRole('list', { name: 'Sessions' }).getByRole('listitem').filter({ hasText: 'This device' })).toHaveCount(1)
    const left = Number(await first.getByLabel('Access token expires in').textContent())
    t.ok(left >= 0 && left <= TTL + 1, `the countdown shows the seconds left (${left})`)
  })

  await t.test('a reload is still signed in', async () => {
    await first.evaluate(() => { document.cookie = 'app_theme=dark; path=/' })
    await first.reload()
    await expect(status(first)).toHaveText(`Signed in as ${email}`)
  })

  await t.test('the DPoP key in IndexedDB is a non-extractable CryptoKey, and the one the tokens are bound to', async (t) => {
    // read the way @ratchet/client's indexedDbKeyStore keeps it: database ratchet-dpop,
    // store keys, entry dpop, the CryptoKeyPair itself (a string, so the test runner's
    // transform cannot rename the helpers inside)
    const stored = await first.evaluate<StoredKey>(`(async () => {
      const done = (req) => new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error) })
      const db = await done(indexedDB.open('ratchet-dpop'))
      const pair = await done(db.transaction('keys', 'readonly').objectStore('keys').get('dpop'))
      db.close()
      const key = pair.privateKey
      const exported = (format) => crypto.subtle.exportKey(format, key).then(() => 'exported', (err) => err.name)
      const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey)
      return {
        isCryptoKey: key instanceof CryptoKey,
        type: key.type,
        extractable: key.extractable,
        algorithm: key.algorithm,
        usages: key.usages,
        asJwk: await exported('jwk'),
        asPkcs8: await exported('pkcs8'),
        publicJwk: { kty, crv, x, y }
      }
    })()`)
    t.equal(stored.isCryptoKey, true, 'a CryptoKey, not key material')
    t.equal(stored.type, 'private', 'the private key')
    t.equal(stored.extractable, false, 'not extractable')
    t.same(stored.algorithm, { name: 'ECDSA', namedCurve: 'P-256' }, 'ECDSA P-256')
    t.same(stored.usages, ['sign'], 'for signing only')
    t.equal(stored.asJwk, 'InvalidAccessError', "exportKey('jwk') rejects")
    t.equal(stored.asPkcs8, 'InvalidAccessError', "exportKey('pkcs8') rejects")

    // the page's next call to the resource service: its token is bound to that key, and its proof signed by it
    const call = first.waitForRequest((r) => r.url().startsWith(stack.resourceUrl) && /^DPoP /.test(r.headers().authorization ?? ''))
    await first.reload()
    await expect(status(first)).toHaveText(`Signed in as ${email}`)
    const headers = (await call).headers()
    const jkt = jwkThumbprint(stored.publicJwk)
    t.equal(decodeSegment(headers.authorization!.slice(5).split('.')[1]!).cnf?.jkt, jkt, 'the access token is bound to the stored key (cnf.jkt)')
    t.same(decodeSegment(headers.dpop!.split('.')[0]!).jwk, stored.publicJwk, 'the proof carries its public key')
  })

  await t.test('add and delete a note', async (t) => {
    const notes = first.getByRole('list', { name: 'Notes' })
    await first.getByLabel('New note').fill('Buy more ratchets')
    await first.getByRole('button', { name: 'Add note' }).click()
    await expect(notes.getByRole('listitem')).toHaveText(['Buy more ratchetsDelete'])
    const shot = process.env.RATCHET_SCREENSHOT
    if (shot !== undefined && shot !== '') {
      await first.screenshot({ path: shot, fullPage: true })
      t.comment(`screenshot of the signed-in page: ${shot}`)
    }
    await notes.getByRole('listitem').filter({ hasText: 'Buy more ratchets' }).getByRole('button', { name: 'Delete' }).click()
    await expect(notes.getByRole('listitem')).toHaveCount(0)
  })

  /**
   * Lets the token expire `rounds` times with every tab open and idle, and groups
   * the refreshes the server saw by expiry: a refresh presenting a refresh token
   * issued moments ago repeats the one before (the tokens are due at half-life).
   */
  async function expiries (t: { same: (found: unknown, wanted: unknown, message: string) => unknown }, rounds: number): Promise<number[]> {
    for (const tab of tabs) await expect(status(tab)).toHaveText(`Signed in as ${email}`)
    const from = stack.refreshes.length
    await eventually(() => stack.refreshes.length - from >= rounds, rounds * TTL * 1000 + 10_000, `${rounds} refreshes`)
    const seen: RefreshSeen[] = stack.refreshes.slice(from)
    t.same(seen.filter((r) => r.status !== 200), [], 'every refresh succeeded: none was a reuse')
    const perExpiry: number[] = []
    for (const r of seen) {
      if (r.presentedAgeMs !== null && r.presentedAgeMs < (TTL / 2 - 1) * 1000 && perExpiry.length > 0) perExpiry[perExpiry.length - 1]!++
      else perExpiry.push(1)
    }
    for (const tab of tabs) await expect(status(tab)).toHaveText(`Signed in as ${email}`)
    return perExpiry
  }

  await t.test('token expiry with 2 tabs open: one refresh per expiry, never a reuse', async (t) => {
    tabs.push(await open())
    const perExpiry = await expiries(t, 3)
    t.comment(`2 tabs, POST /v1/refresh per expiry: ${perExpiry.join(', ')}`)
    t.same(perExpiry, perExpiry.map(() => 1))
  })

  await t.test('token expiry with 5 tabs open: one refresh per expiry, never a reuse', async (t) => {
    while (tabs.length < 5) tabs.push(await open())
    const perExpiry = await expiries(t, 3)
    t.comment(`5 tabs, POST /v1/refresh per expiry: ${perExpiry.join(', ')}`)
    t.same(perExpiry, perExpiry.map(() => 1))
  })

  await t.test('no refresh token in document.cookie or web storage', async (t) => {
    t.ok(stack.issued.size > 5, `${stack.issued.size} refresh tokens issued so far`)
    for (const tab of tabs) {
      // a string: the test runner's transform would name a function's inner helpers
      const visible = await tab.evaluate<string>(`[document.cookie, ...[localStorage, sessionStorage].flatMap((s) =>
        Array.from({ length: s.length }, (_, i) => s.key(i) + '=' + s.getItem(s.key(i))))].join('\\n')`)
      t.notOk([...stack.issued].some((token) => visible.includes(token)), 'no issued refresh token is readable by script')
      t.notMatch(visible, /ratchet_rt/)
    }
  })

  await t.test('sign out in one tab: every tab is signed out within a second, without a call of its own', async (t) => {
    const calls = tabs.map(() => 0)
    tabs.forEach((tab, i) => tab.on('request', () => { calls[i]!++ }))
    const outAt = tabs.map((tab) => tab.evaluate(() => new Promise<number>((resolve) => {
      const el = document.getElementById('status')!
      new MutationObserver(() => { if (el.textContent === 'Signed out') resolve(Date.now()) }).observe(el, { childList: true, characterData: true, subtree: true })
    })))
    const clickedAt = first.evaluate(() => new Promise<number>((resolve) => {
      document.getElementById('sign-out')!.addEventListener('click', () => resolve(Date.now()), { once: true })
    }))
    await first.getByRole('button', { name: 'Sign out', exact: true }).click()
    const times = await Promise.all(outAt)
    const slowest = Math.max(...times) - await clickedAt
    t.comment(`every tab signed out ${slowest} ms after the click (${times.map((at) => at - Math.min(...times)).join(', ')} ms apart)`)
    t.ok(slowest < 1000, 'within a second')
    t.same(calls.slice(1), calls.slice(1).map(() => 0), 'the other tabs sent nothing: they were told')
    for (const tab of tabs) await expect(status(tab)).toHaveText('Signed out')
    t.match(await first.evaluate(() => document.cookie), /app_theme=dark/, 'the app\'s own cookie survives the logout')
  })

  await t.test('signing in in one tab signs in the others', async () => {
    await first.getByLabel('Email').fill(email)
    await first.getByLabel('Password').fill(PASSWORD)
    await first.getByRole('button', { name: 'Sign in' }).click()
    for (const tab of tabs) await expect(status(tab)).toHaveText(`Signed in as ${email}`)
  })

  await t.test('no console errors', async (t) => {
    t.same(errors, [])
  })

  // a second browser (its own cookies): the user's other device
  let elsewhere: Page
  const signInElsewhere = async () => {
    await elsewhere.getByLabel('Email').fill(email)
    await elsewhere.getByLabel('Password').fill(PASSWORD)
    await elsewhere.getByRole('button', { name: 'Sign in' }).click()
    await expect(status(elsewhere)).toHaveText(`Signed in as ${email}`)
  }
  const addNoteIn = (page: Page, text: string) => page.evaluate(`(() => {
    const form = document.getElementById('add-note')
    form.querySelector('input').value = ${JSON.stringify(text)}
    form.requestSubmit()
  })()`)

  await t.test('the session list shows both browsers, with user agent and last use; Sign out other devices ends the other one', async (t) => {
    const other = await browser.newContext()
    elsewhere = await open(other)
    await signInElsewhere()
    await first.reload()
    const sessions = first.getByRole('list', { name: 'Sessions' }).getByRole('listitem')
    await expect(sessions).toHaveCount(2)
    const listed = (await sessions.allTextContents()).join('\n')
    t.match(listed, /This device/)
    t.match(listed, /last used /)
    t.match(listed, /HeadlessChrome/, 'the other device by its user agent')
    errors.length = 0
    await first.getByRole('button', { name: 'Sign out other devices' }).click()
    await expect(first.locator('#notice')).toHaveText('Other devices signed out')
    await expect(sessions).toHaveCount(1)
    await addNoteIn(elsewhere, 'from the other browser')
    await expect(status(elsewhere)).toHaveText(/^Signed out/)
    await expect(status(first)).toHaveText(`Signed in as ${email}`)
    t.same(errors.filter((e) => !/Failed to load resource: the server responded with a status of 401/.test(e)), [])
  })

  await t.test('Sign out everywhere from another browser: this one is signed out at its next call', async (t) => {
    // a session of the user's own to see when the resource service has heard of the revocation
    const probe = await (await fetch(`${stack.authUrl}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) })).json() as { access_token: string }
    await signInElsewhere()
    const refusedBefore = stack.refreshes.filter((r) => r.status !== 200).length
    await elsewhere.getByRole('button', { name: 'Sign out everywhere' }).click()
    await expect(status(elsewhere)).toHaveText('Signed out')
    await eventually(async () => (await fetch(`${stack.resourceUrl}/v1/me`, { headers: { authorization: `Bearer ${probe.access_token}` } })).status === 401, 10_000, 'the resource service heard of the revocation')

    errors.length = 0
    // the next call: adding a note (unless the tab's refresh timer came first, which is a call too)
    await addNoteIn(first, 'too late')
    for (const tab of tabs) await expect(status(tab)).toHaveText(/^Signed out/)
    const refused = stack.refreshes.filter((r) => r.status !== 200).length - refusedBefore
    t.ok(refused <= 1, `one refused refresh signed every tab out, no loop (${refused})`)
    // the browser's own lines for the two refusals (the note, then the refresh), and nothing else
    t.same(errors.filter((e) => !/Failed to load resource: the server responded with a status of 401/.test(e)), [])
  })

  t.teardown(async () => { await context.close() })
}
