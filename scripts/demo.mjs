// `npm run demo`: walks DESIGN.md's numbered flow against running services, or,
// when none answer on AUTH_URL / RESOURCE_URL, starts both itself (on free
// ports, with 3 s access tokens) and stops them at the end.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const started = []
const t0 = Date.now()
const bold = (s) => process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s
const step = (n, text) => console.log(`\n${bold(`${n}.`)} ${text}  [${((Date.now() - t0) / 1000).toFixed(1)} s]`)
const show = (label, value) => console.log(`   ${label.padEnd(18)} ${value}`)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())
const header = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString())
const short = (jwt) => `${jwt.slice(0, 18)}…${jwt.slice(-8)}`

async function answers (url) {
  try { return (await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1000) })).ok } catch { return false }
}

async function freePort () {
  return await new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)) }) })
}

async function startOwn () {
  const build = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'services/auth', 'services/resource'], { cwd: root, stdio: 'inherit' })
  if (build.status !== 0) process.exit(1)
  const [authPort, resourcePort] = [await freePort(), await freePort()]
  const id = randomBytes(4).toString('hex')
  const env = {
    ...process.env,
    LOG_LEVEL: 'warn',
    ISSUER: `http://127.0.0.1:${authPort}`,
    ACCESS_TOKEN_TTL: '3',
    CLOCK_LEEWAY: '0',
    REDIS_PREFIX: `demo:${id}:`,
    NATS_STREAM: `DEMO_${id}`,
    NATS_SUBJECT_PREFIX: `demo_${id}`
  }
  for (const [name, port] of [['auth', authPort], ['resource', resourcePort]]) {
    const child = spawn(process.execPath, [`${root}services/${name}/dist/server.js`], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] })
    started.push(child)
  }
  const auth = `http://127.0.0.1:${authPort}`
  const resource = `http://127.0.0.1:${resourcePort}`
  const deadline = Date.now() + 20000
  while (!(await answers(auth) && await answers(resource))) {
    if (Date.now() > deadline) throw new Error('the services did not become ready')
    await sleep(100)
  }
  return { auth, resource }
}

async function post (url, body, token) {
  const headers = body === undefined ? {} : { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(url, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

async function get (url, token) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.json().catch(() => undefined) }
}

async function untilRejected (url, token) {
  const from = performance.now()
  for (;;) {
    const res = await get(url, token)
    if (res.status === 401) return { ...res, ms: (performance.now() - from).toFixed(1) }
    await sleep(1)
  }
}

async function main () {
  let auth = process.env.AUTH_URL ?? 'http://127.0.0.1:3001'
  let resource = process.env.RESOURCE_URL ?? 'http://127.0.0.1:3002'
  if (await answers(auth) && await answers(resource)) {
    console.log(`Using the running services: auth ${auth}, resource ${resource}`)
  } else {
    console.log('No services answer on :3001/:3002; starting both with 3 s access tokens…')
    ;({ auth, resource } = await startOwn())
    console.log(`auth ${auth}, resource ${resource}`)
  }

  console.log('(step numbers follow the flow in DESIGN.md)')
  const email = `demo-${randomBytes(3).toString('hex')}@example.com`
  step(1, `Sign up ${email} (argon2id hash stored in Redis)`)
  const signup = await post(`${auth}/v1/signup`, { email, password: 'correct horse battery staple' })
  show('status', signup.status)
  let { access_token: access, refresh_token: refresh } = signup.body

  step(2, 'Tokens issued: a short-lived access token and a rotating refresh token')
  const a = claims(access)
  show('access header', JSON.stringify(header(access)))
  show('access claims', JSON.stringify({ sub: a.sub, sid: a.sid, scope: a.scope, client_id: a.client_id, exp: a.exp }))
  show('expires in', `${signup.body.expires_in} s`)
  show('refresh header', JSON.stringify(header(refresh)))

  step(4, 'Call the resource service; it verifies the token with the JWKS, alone')
  const me = await get(`${resource}/v1/me`, access)
  show('GET /v1/me', `${me.status} ${JSON.stringify(me.body)}`)

  step(5, 'Wait for the access token to expire; the resource service says so (RFC 6750)')
  const wait = a.exp * 1000 - Date.now() + 1100
  if (wait > 20000) {
    show('skipped', `this token lives ${signup.body.expires_in} s; run the demo with no services up to see it expire`)
  } else {
    await sleep(Math.max(0, wait))
    const expired = await get(`${resource}/v1/me`, access)
    show('GET /v1/me', expired.status)
    show('WWW-Authenticate', expired.challenge)
  }

  step(6, 'Refresh with both tokens: a new access token AND a new refresh token')
  const r1 = await post(`${auth}/v1/refresh`, { refresh_token: refresh, access_token: access })
  show('status', r1.status)
  show('old refresh', short(refresh))
  show('new refresh', short(r1.body.refresh_token))
  const r2 = await post(`${auth}/v1/refresh`, { refresh_token: r1.body.refresh_token })
  show('and again', `${r2.status} ${short(r2.body.refresh_token)}`)
  access = r2.body.access_token
  show('GET /v1/me', (await get(`${resource}/v1/me`, access)).status)

  step('6b', 'Replay the first refresh token (a thief would): the whole session is revoked')
  const replay = await post(`${auth}/v1/refresh`, { refresh_token: refresh })
  show('replay', `${replay.status} ${replay.body.message}`)
  const tripped = await untilRejected(`${resource}/v1/me`, access)
  show('resource says', `${tripped.status} after ${tripped.ms} ms: ${tripped.challenge}`)
  const legit = await post(`${auth}/v1/refresh`, { refresh_token: r2.body.refresh_token })
  show('current token', `${legit.status} ${legit.body.message}`)

  step(7, 'Log in again and log out: the broadcast reaches the resource service at once')
  const login = await post(`${auth}/v1/login`, { email, password: 'correct horse battery staple' })
  show('login', login.status)
  show('GET /v1/me', (await get(`${resource}/v1/me`, login.body.access_token)).status)
  const out = await post(`${auth}/v1/logout`, undefined, login.body.access_token)
  show('logout', out.status)
  const rejected = await untilRejected(`${resource}/v1/me`, login.body.access_token)
  show('resource says', `${rejected.status} after ${rejected.ms} ms: ${rejected.challenge}`)
  console.log(`\nDone in ${((Date.now() - t0) / 1000).toFixed(1)} s (including start-up).`)
}

try {
  await main()
} catch (err) {
  console.error(`demo failed: ${err.message}`)
  process.exitCode = 1
} finally {
  for (const child of started) child.kill('SIGTERM')
}
