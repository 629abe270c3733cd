import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig, ResourceEnv } from '@ratchet/shared'
import { buildApp } from './app.js'

let config
try {
  config = loadConfig(ResourceEnv)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  console.error(`resource: ${err.message}`)
  process.exit(1)
}

const app = await buildApp(config)
closeWithGrace({ delay: 10000 }, async ({ err, signal }) => {
  if (err !== undefined) app.log.error({ err }, 'closing after an error')
  else app.log.info({ signal }, 'closing')
  await app.close()
})
await app.listen({ host: config.HOST, port: config.PORT })
