// `docker compose up --build --wait` on the real docker-compose.yml, then the flow
// through the published ports 3001/3002, a Redis restart (sessions must survive it:
// AOF on a named volume), and a graceful stop. Skips, with the reason, where no
// container engine runs.
import t from 'tap'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { engineUnavailable } from './engine.ts'
import { logout, me, redact, refresh, signup, uniqueEmail, waitFor, waitReady } from './flow.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const AUTH = 'http://127.0.0.1:3001'
const RESOURCE = 'http://127.0.0.1:3002'

// The first build installs every dependency inside the image; later ones reuse layers.
t.setTimeout(15 * 60_000)

const unavailable = await engineUnavailable()
if (unavailable) {
  t.comment(`SKIP ${unavailable}`)
  t.plan(0, unavailable)
} else {
  // A project of its own: never touches a `ratchet` stack the developer has running.
  const project = `ratchet-test-${randomBytes(4).toString('hex')}`
  const compose = (...args: string[]) =>
    run('docker', ['compose', '-p', project, ...args], { cwd: root, timeout: 14 * 60_000, maxBuffer: 64 * 1024 * 1024 })
  const inspect = async (service: string, format: string): Promise<string> => {
    const { stdout: id } = await compose('ps', '-aq', service)
    const { stdout } = await run('docker', ['inspect', '-f', format, id.trim()])
    return stdout.trim()
  }

  t.teardown(async () => {
    await compose('down', '-v', '--remove-orphans', '--timeout', '10').catch((err: Error) => {
      console.error(`# compose down -p ${project} failed: ${err.message}`)
    })
  })

  let up = false
  const requireUp = (t: { fail: (message: string) => boolean }): boolean => up || t.fail('the stack never came up healthy: nothing to test')

  t.test('docker compose up --build --wait brings every service up healthy', async (t) => {
    const started = Date.now()
    try {
      await compose('--progress', 'plain', 'up', '--build', '--wait', '--wait-timeout', '180')
    } catch (err) {
      // The end of the build log (e.g. a compiler error) and of the services' logs.
      const tail = (text = '', lines = 40) => text.trimEnd().split('\n').slice(-lines).join('\n')
      const logs = await compose('logs', '--no-color', '--tail', '40').then((r) => r.stdout, () => '')
      throw new Error(`docker compose up failed:\n${tail((err as { stderr?: string }).stderr)}\n${logs}`)
    }
    up = true
    const upSeconds = (Date.now() - started) / 1000
    t.comment(`up --build --wait to healthy: ${upSeconds.toFixed(1)} s`)
    for (const service of ['auth', 'resource']) {
      t.equal(await inspect(service, '{{.State.Health.Status}}'), 'healthy', `${service} reports healthy`)
      const size = await inspect(service, '{{.Image}}').then((image) => run('docker', ['image', 'inspect', '-f', '{{.Size}}', image]))
      t.comment(`${service} image: ${(Number(size.stdout) / 1e6).toFixed(0)} MB`)
    }
    t.equal(await inspect('redis', '{{.State.Health.Status}}'), 'healthy', 'redis reports healthy')
  })

  t.test('the services run as the unprivileged node user', async (t) => {
    if (!requireUp(t)) return
    for (const service of ['auth', 'resource']) {
      const { stdout } = await compose('exec', '-T', service, 'id', '-un')
      t.equal(stdout.trim(), 'node', service)
    }
  })

  t.test('Redis and NATS are not published on host ports', async (t) => {
    if (!requireUp(t)) return
    for (const service of ['redis', 'nats']) {
      t.equal(await inspect(service, '{{json .NetworkSettings.Ports}}').then((p) => /HostPort/.test(p)), false, service)
    }
  })

  t.test('Redis refuses a client without the password, inside the network too', async (t) => {
    if (!requireUp(t)) return
    // The container's env carries REDISCLI_AUTH (for the healthcheck): drop it to be a
    // client that does not know the password.
    const anonymous = await compose('exec', '-T', 'redis', 'env', '-u', 'REDISCLI_AUTH', 'redis-cli', 'ping')
    t.match(`${anonymous.stdout}${anonymous.stderr}`, /NOAUTH/, 'ping without the password answers NOAUTH')
    const wrong = await compose('exec', '-T', 'redis', 'env', '-u', 'REDISCLI_AUTH', 'redis-cli', '--no-auth-warning', '-a', 'not-the-password', 'ping')
    t.match(`${wrong.stdout}${wrong.stderr}`, /WRONGPASS|invalid/i, 'a wrong password is refused')
    const known = await compose('exec', '-T', 'redis', 'redis-cli', 'ping')
    t.equal(known.stdout.trim(), 'PONG', 'with the password it answers')
  })

  let carried = ''
  t.test('the flow works through the published ports', async (t) => {
    if (!requireUp(t)) return
    const email = uniqueEmail()
    const signed = await signup(AUTH, email)
    t.equal(signed.status, 201, 'signup answers 201', { body: redact(signed.body) })
    const who = await me(RESOURCE, signed.body.access_token)
    t.equal(who.status, 200, 'me answers 200', { body: redact(who.body) })
    t.equal(who.body.sub, signed.body.user.id)
    const next = await refresh(AUTH, signed.body.refresh_token)
    t.equal(next.status, 200, 'refresh answers 200', { body: redact(next.body) })
    t.not(next.body.refresh_token, signed.body.refresh_token, 'the refresh token rotated')
    t.equal((await me(RESOURCE, next.body.access_token)).status, 200, 'the new access token is accepted')
    carried = next.body.refresh_token

    // A second session, logged out: the resource service hears of it over NATS.
    const other = await signup(AUTH, uniqueEmail())
    t.equal(other.status, 201)
    t.equal((await logout(AUTH, other.body.access_token)).status, 204, 'logout')
    await waitFor('the resource service to reject a logged-out token', async () => {
      const { status } = await me(RESOURCE, other.body.access_token)
      return status === 401 || `GET /v1/me answered ${status}`
    }, 30_000)
  })

  t.test('Redis persists with AOF fsynced every second', async (t) => {
    if (!requireUp(t)) return
    const setting = async (name: string) =>
      (await compose('exec', '-T', 'redis', 'redis-cli', 'config', 'get', name)).stdout.trim().split('\n')[1]?.trim()
    t.equal(await setting('appendonly'), 'yes')
    t.equal(await setting('appendfsync'), 'everysec')
  })

  t.test('a refresh token issued before a Redis restart still works after it', async (t) => {
    if (!requireUp(t)) return
    t.ok(carried, 'the flow test left a refresh token')
    await compose('restart', 'redis')
    await waitReady(AUTH, 90_000)
    const after = await refresh(AUTH, carried)
    t.equal(after.status, 200, 'refresh after restart answers 200', { body: redact(after.body) })
    t.equal((await me(RESOURCE, after.body.access_token)).status, 200)
  })

  t.test('docker compose stop ends the services gracefully (exit code 0, no SIGKILL)', async (t) => {
    if (!requireUp(t)) return
    await compose('stop', '--timeout', '20', 'resource', 'auth')
    for (const service of ['auth', 'resource']) {
      t.equal(await inspect(service, '{{.State.ExitCode}}'), '0', `${service} exited 0 on SIGTERM`)
    }
  })
}
