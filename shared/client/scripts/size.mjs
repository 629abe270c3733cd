// Reports what the client costs a page: the built package bundled and minified
// with esbuild's defaults for the browser, then gzipped. Run by `npm run build`
// in this package; `--json` prints the numbers for tests.
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url))
const result = await build({ entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' })
const code = result.outputFiles[0].contents
const size = { minified: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength }
if (process.argv.includes('--json')) console.log(JSON.stringify(size))
else console.log(`@ratchet/client: ${(size.minified / 1024).toFixed(1)} kB minified, ${(size.gzip / 1024).toFixed(2)} kB minified + gzip (goal: 6 kB)`)
