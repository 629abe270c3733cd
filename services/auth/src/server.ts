import { AuthEnv } from '@ratchet/shared'
import { startServer } from '@ratchet/fastify'
import { buildApp } from './app.js'

await startServer({ name: 'auth', env: AuthEnv, build: async (config) => await buildApp(config) })
