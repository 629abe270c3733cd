import t from 'tap'
import { Writable } from 'node:stream'
import { call, start } from './helpers.js'
import { redactPaths } from '../src/app.js'

t.test('tokens never reach the logs, whatever the outcome of the request', async (t) => {
  let logs = ''
  const stream = new Writable({ write (chunk, _enc, cb) { logs += String(chunk); cb() } })
  const s = await start(t, { build: { logger: { level: 'trace', stream, redact: redactPaths } } })
  const good = s.token()
  const expired = s.token({ exp: 1000 })
  await call(`${s.url}/v1/me`, { token: good })
  await call(`${s.url}/v1/me`, { token: expired })
  await call(`${s.url}/v1/notes`, { token: good, body: { text: 'secret-ish' } })
  await call(`${s.url}/v1/me`, { authorization: `Basic ${good}` })
  t.ok(logs.includes('request completed'), 'requests were logged')
  for (const token of [good, expired]) {
    for (const part of token.split('.')) t.notOk(logs.includes(part), 'no token part in the logs')
  }
})
