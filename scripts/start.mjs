// `npm start`: build (incremental, so cheap when nothing changed), then run the
// auth (3001) and resource (3002) services and the web app (3000) in the
// foreground against the URLs in the environment. Ctrl-C stops them all
// cleanly; if one dies, so do the others.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const build = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-b', 'services/auth', 'services/resource', 'services/web'], { cwd: root, stdio: 'inherit' })
if (build.status !== 0) process.exit(build.status ?? 1)
// the page: TypeScript bundled by esbuild into services/web/dist/public
const page = spawnSync(process.execPath, [`${root}services/web/dist/build.js`], { cwd: root, stdio: 'inherit' })
if (page.status !== 0) process.exit(page.status ?? 1)

const services = ['auth', 'resource', 'web'].map((name) => {
  const child = spawn(process.execPath, [`${root}services/${name}/dist/server.js`], { cwd: root, stdio: 'inherit', env: process.env })
  return { name, child, exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ name, code, signal }))) }
})

let stopping = false
function stop (signal) {
  if (stopping) return
  stopping = true
  for (const { child } of services) if (child.exitCode === null) child.kill(signal)
}
process.on('SIGINT', () => stop('SIGTERM'))
process.on('SIGTERM', () => stop('SIGTERM'))

const first = await Promise.race(services.map((s) => s.exited))
if (!stopping) console.error(`${first.name} exited (${first.signal ?? first.code}); stopping the others`)
stop('SIGTERM')
const all = await Promise.all(services.map((s) => s.exited))
process.exit(all.some((r) => r.code !== 0 && r.signal === null && !stopping) ? 1 : 0)
