import { Type, type Static } from 'typebox'

/** The web app's settings (see the run-time contract in DESIGN.md). */
export const WebEnv = Type.Object({
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  /** The auth service as the browser reaches it (the page calls it, not this server). */
  AUTH_URL: Type.String({ pattern: '^https?://[^/\\s]+/?$', default: 'http://localhost:3001' }),
  /** The resource service as the browser reaches it. */
  RESOURCE_URL: Type.String({ pattern: '^https?://[^/\\s]+/?$', default: 'http://localhost:3002' }),
  LOG_LEVEL: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info' })
})

export type WebConfig = Static<typeof WebEnv>
