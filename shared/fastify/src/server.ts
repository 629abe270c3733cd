import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import type { Static, TObject } from 'typebox'
import { ConfigError, loadConfig } from '@ratchet/shared'

/** What a service's server.ts hands over: its name (for the one-line config error), its env schema, its app. */
export interface ServiceEntry<T extends TObject> {
  name: string
  env: T
  build: (config: Static<T>) => Promise<FastifyInstance>
}

/**
 * env → loadConfig → buildApp(config) → listen, and a graceful close on a
 * signal or a crash. A bad setting stops the process with one line naming the
 * variable, before anything connects anywhere.
 */
export async function startServer<T extends TObject> ({ name, env, build }: ServiceEntry<T>): Promise<FastifyInstance> {
  let config: Static<T> & { HOST: string, PORT: number }
  try {
    config = loadConfig(env) as Static<T> & { HOST: string, PORT: number }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    console.error(`${name}: ${err.message}`)
    process.exit(1)
  }
  const app = await build(config)
  closeWithGrace({ delay: 10000 }, async ({ err, signal }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })
  await app.listen({ host: config.HOST, port: config.PORT })
  return app
}
