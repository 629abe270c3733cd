import { ResourceEnv } from '@ratchet/shared'
import { startServer } from '@ratchet/fastify'
import { buildApp } from './app.js'

await startServer({ name: 'resource', env: ResourceEnv, build: async (config) => await buildApp(config) })
