import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { AuthConfig } from '@ratchet/shared'
import type { TokenService } from '../tokens/service.js'
import type { AccountService } from '../accounts/service.js'
import type { KeyRing } from '../keys/ring.js'
import type { AuthDpop } from '../tokens/dpop.js'

/** What route plugins are given: explicit dependencies, no decorators. */
export interface RouteDeps {
  config: AuthConfig
  tokens: TokenService
  accounts: AccountService
  ring: () => KeyRing
  dpop: AuthDpop
}

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>

/** Token responses must never be cached (RFC 6749 §5.1). */
export const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' } as const
