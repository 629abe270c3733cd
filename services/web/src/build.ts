// Builds the page: page/main.ts bundled (with @ratchet/client from its sources)
// into dist/public/app.js, beside the HTML and the stylesheet. `npm run build`
// in this package runs it; tests call buildPage.
import { copyFile, mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { PUBLIC_DIR } from './app.js'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export async function buildPage (outDir = PUBLIC_DIR): Promise<string> {
  // only at build time: the server never loads the bundler
  const { build } = await import('esbuild')
  await mkdir(outDir, { recursive: true })
  await build({
    entryPoints: [here('../page/main.ts')],
    bundle: true,
    minify: true,
    sourcemap: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    conditions: ['ratchet-source'],
    outfile: `${outDir}/app.js`,
    logLevel: 'warning'
  })
  for (const file of ['index.html', 'style.css']) await copyFile(here(`../public/${file}`), `${outDir}/${file}`)
  return outDir
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await buildPage()
  console.log(`web: page built into ${out}`)
}
