import { ConfigError, loadConfig } from '@ratchet/shared'
import { buildApp } from './app.js'
import { WebEnv } from './config.js'

let config
try {
  config = loadConfig(WebEnv)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  console.error(`web: ${err.message}`)
  process.exit(1)
}

const app = await buildApp(config)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'closing')
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}
await app.listen({ host: config.HOST, port: config.PORT })
