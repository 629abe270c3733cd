import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parseKeySet } from '../../src/keys/jwk.js'
import { call, startAuth } from '../helpers.js'

const run = promisify(execFile)
const cli = join(import.meta.dirname, '../../src/keys/cli.ts')

/** The keys CLI as `npm run keys:*` runs it, from sources. */
async function keysCli (args: string[], env: Record<string, string>) {
  return await run(process.execPath, ['--import', 'tsx', '--conditions=ratchet-source', cli, ...args], { env: { ...process.env, ...env } })
}

const kids = async (url: string): Promise<string[]> => (await call<{ keys: Array<{ kid: string }> }>(`${url}/.well-known/jwks.json`)).body.keys.map((k) => k.kid)

t.test('keys:generate writes an owner-only key file the service signs with, and keys:rotate --file adds to it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-keys-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const path = join(dir, 'keys.json')
  await keysCli(['generate', '--out', path], {})
  t.equal((await stat(path)).mode & 0o777, 0o600)
  const set = parseKeySet(await readFile(path, 'utf8'), path)
  t.equal(set.access.length, 1)
  t.equal(set.refresh.length, 1)
  await t.rejects(keysCli(['generate', '--out', path], {}), 'an existing key file is never overwritten')

  const auth = await startAuth(t, { SIGNING_KEYS_FILE: path })
  t.same(await kids(auth.url), [set.access[0]?.kid])

  const { stdout } = await keysCli(['rotate', '--file', path], { KEY_PUBLISH_DELAY: '600' })
  t.notMatch(stdout, /privateJwk|"d"/)
  const rotated = parseKeySet(await readFile(path, 'utf8'), path)
  t.equal(rotated.access.length, 2)
  t.equal(rotated.access[1]?.kid, JSON.parse(stdout).added)
  t.equal((await stat(path)).mode & 0o777, 0o600)

  const { stdout: printed } = await keysCli(['generate'], {})
  t.ok(parseKeySet(printed, 'stdout'), 'without --out the set goes to stdout')
})
