// The package as a user gets it: `npm pack`, installed into an app outside the
// monorepo, bundled with esbuild's defaults, type-checked with
// moduleResolution "bundler", and small.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import t from 'tap'

const run = promisify(execFile)
const pkgDir = fileURLToPath(new URL('..', import.meta.url))
const rootDir = fileURLToPath(new URL('../../..', import.meta.url))
const npm = process.env.npm_execpath?.endsWith('.js') ? [process.execPath, process.env.npm_execpath] : ['npm']

async function sh (cmd: string[], cwd: string) {
  const [file, ...args] = cmd as [string, ...string[]]
  return run(file, args, { cwd, env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 16 * 1024 * 1024 })
}

t.test('the npm pack tarball installs, bundles and type-checks outside the monorepo', async (t) => {
  const work = await mkdtemp(join(tmpdir(), 'ratchet-client-pack-'))
  t.teardown(() => rm(work, { recursive: true, force: true }))

  const { stdout } = await sh([...npm, 'pack', '--json', '--pack-destination', work], pkgDir)
  const [packed] = JSON.parse(stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  const files = packed!.files.map((f) => f.path)
  t.ok(files.includes('dist/index.js'), 'ships the built JavaScript')
  t.ok(files.includes('dist/index.d.ts'), 'ships the type declarations')
  t.notOk(files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'ships no sources or tests')
  const manifest = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>
  t.equal(manifest.private, undefined, 'publishable')
  t.same(manifest.dependencies ?? {}, {}, 'no runtime dependencies')

  const app = join(work, 'app')
  await sh(['mkdir', '-p', app], work)
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'some-app', private: true, type: 'module' }))
  await sh([...npm, 'install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, packed!.filename)], app)
  t.same(await readdir(join(app, 'node_modules')), ['.package-lock.json', '@ratchet'], 'installs one package and nothing else')

  await writeFile(join(app, 'main.ts'), [
    "import { createClient, memoryStorage, CLIENT_ERROR_CODES, type RatchetClient, type StoredTokens } from '@ratchet/client'",
    "const client: RatchetClient = createClient({ authUrl: 'http://localhost:3001', storage: memoryStorage() })",
    'const tokens: StoredTokens | null = null',
    'console.log(typeof client.fetch, typeof client.restore, CLIENT_ERROR_CODES.SIGNED_OUT, tokens)',
    'client.close()'
  ].join('\n'))
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', strict: true, noEmit: true, lib: ['ES2022', 'DOM'], types: [] },
    files: ['main.ts']
  }))
  // the monorepo's compiler, run from the app: only the app's node_modules resolve
  await sh([process.execPath, join(rootDir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app)
  t.pass('type-checks with moduleResolution bundler')

  const bundle = await build({ entryPoints: [join(app, 'main.ts')], bundle: true, absWorkingDir: app, outfile: join(app, 'out.js'), format: 'esm', logLevel: 'silent' })
  t.same(bundle.errors, [], 'bundles with esbuild defaults')
  const out = await sh([process.execPath, join(app, 'out.js')], app)
  t.equal(out.stdout.trim(), 'function function RATCHET_CLIENT_SIGNED_OUT null', 'the bundle runs')
})

t.test('the build reports its size, within the 6 kB goal (minified + gzip)', async (t) => {
  await sh([process.execPath, join(rootDir, 'node_modules/typescript/bin/tsc'), '-b'], pkgDir)
  const { stdout } = await sh([process.execPath, 'scripts/size.mjs', '--json'], pkgDir)
  const size = JSON.parse(stdout) as { minified: number, gzip: number }
  t.comment(`@ratchet/client: ${size.minified} B minified, ${size.gzip} B minified + gzip`)
  t.ok(size.gzip <= 6 * 1024, `${size.gzip} B ≤ 6 kB`)
})
