/**
 * What both services' /docs share: OpenAPI 3.1 (its schemas are JSON Schema, as
 * TypeBox writes them, `type: 'null'` included), the bearer scheme, and a UI
 * that fetches nothing from outside. Plain options objects for @fastify/swagger
 * and @fastify/swagger-ui, so shared/ stays free of Fastify itself.
 */
export function openApiOptions (info: { title: string, version: string, description: string }) {
  return {
    openapi: {
      openapi: '3.1.0',
      info,
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http' as const, scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token (RFC 9068 at+jwt)' }
        }
      }
    }
  }
}

export const swaggerUiOptions = {
  routePrefix: '/docs',
  // the UI's own Content-Security-Policy; stricter pages elsewhere stay as they are
  staticCSP: true,
  logLevel: 'warn' as const,
  // no badge fetched from an outside validator: the page works offline and calls no one
  uiConfig: { validatorUrl: null }
}
