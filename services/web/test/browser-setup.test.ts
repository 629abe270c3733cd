// Set-up mistakes the browser would otherwise make silent, each named by the
// page: the page's origin missing from the services' CORS, page and auth service
// on different sites, and a page outside a secure context (cookie mode).
import { networkInterfaces } from 'node:os'
import t from 'tap'
import { ifChromium, launchChromium, startStack } from './stack.js'

await ifChromium(t, run)

async function run () {
  // the services allow some other origin, not this web app's; the web app also listens
  // on every interface, so it can be opened under other names
  const stack = await startStack(t, { webOrigin: () => 'http://localhost:9', webHost: '0.0.0.0' })
  const browser = await launchChromium(t)
  const port = new URL(stack.webUrl).port

  await t.test('an origin the auth service does not allow: the error names CORS and the origin', async (t) => {
    const page = await browser.newPage()
    t.teardown(() => page.close())
    await page.goto(stack.webUrl)
    await page.getByLabel('Email').fill('cors@example.com')
    await page.getByLabel('Password').fill('correct horse battery staple')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.waitForFunction(() => document.getElementById('status')!.textContent !== 'Signed out')
    const said = await page.getByRole('status').textContent()
    t.match(said, /CORS does not allow this page's origin http:\/\/localhost:\d+: add it to the auth service's WEB_ORIGIN or CORS_ORIGINS/)
    t.notMatch(said, /could not be reached/)
  })

  await t.test('page and auth service on different sites: cookie mode refuses to start, saying why', async (t) => {
    const page = await browser.newPage()
    t.teardown(() => page.close())
    await page.goto(`http://127.0.0.1:${port}`) // the auth service is on localhost: another site
    await page.waitForFunction(() => document.getElementById('status')!.textContent !== 'Signed out')
    t.match(await page.getByRole('status').textContent(), /cookie mode needs the page and the auth service on the same site: the page is on http:\/\/127\.0\.0\.1, the auth service \(http:\/\/localhost:\d+\) on http:\/\/localhost/)
    t.equal(await page.getByRole('button', { name: 'Sign in' }).isDisabled(), true)
  })

  const external = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
  await t.test('a page outside a secure context: cookie mode refuses to start, saying why', { skip: external === undefined ? 'no non-loopback address to open the page on' : false }, async (t) => {
    const page = await browser.newPage()
    t.teardown(() => page.close())
    await page.goto(`http://${external!.address}:${port}`)
    t.equal(await page.evaluate(() => isSecureContext), false)
    await page.waitForFunction(() => document.getElementById('status')!.textContent !== 'Signed out')
    t.match(await page.getByRole('status').textContent(), /cookie mode needs a secure context \(https:\/\/, or http:\/\/localhost\)/)
  })
}
