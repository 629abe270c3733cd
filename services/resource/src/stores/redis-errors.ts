/**
 * True for the errors ioredis raises when Redis cannot be reached (as opposed to a bad
 * command): these become 503 RATCHET_DEPENDENCY_UNAVAILABLE. Same list as the auth service's.
 */
export function isRedisUnavailable (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err.name === 'MaxRetriesPerRequestError') return true
  return /Stream isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|LOADING|CLUSTERDOWN|TRYAGAIN|All keys in the pipeline|Cluster isn't ready|Failed to refresh slots cache|None of startup nodes is available/.test(err.message)
}
