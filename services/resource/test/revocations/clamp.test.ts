import t from 'tap'
import { randomUUID } from 'node:crypto'
import { call, eventually, publish, start } from '../helpers.js'

t.test('a forged user.revoked with `before` in the future logs the victim out but does not refuse later logins', async (t) => {
  const s = await start(t, { config: { CLOCK_LEEWAY: 5 } })
  const sent = Date.now() / 1000
  const earlier = s.token({ sub: 'victim', sid: 'old', auth_time: sent - 1 })
  t.equal((await call(`${s.url}/v1/me`, { token: earlier })).status, 200)
  await publish(s.nc, s.config, 'user.revoked', { id: randomUUID(), sub: 'victim', before: sent + 86_400, reason: 'logout_all', at: sent + 86_400 })
  await eventually(async () => (await call(`${s.url}/v1/me`, { token: earlier })).status === 401, 10_000) // the existing session to be rejected
  // a login past the arrival plus the leeway: the forged `before` was cut down to that
  const later = s.token({ sub: 'victim', sid: 'new', auth_time: sent + 10 })
  t.equal((await call(`${s.url}/v1/me`, { token: later })).status, 200, 'a later login is accepted')
  const within = s.token({ sub: 'victim', sid: 'near', auth_time: sent + 2 })
  t.equal((await call(`${s.url}/v1/me`, { token: within })).status, 401, 'within the leeway it is still refused')
})
