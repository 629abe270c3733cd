import { natsClient, type NatsLink } from '@ratchet/fastify'

declare module 'fastify' {
  interface FastifyInstance { nats: NatsLink }
}

/** `app.nats`: the service's NATS link, created, connected in the background and drained by the plugin (see @ratchet/fastify). */
export default natsClient
