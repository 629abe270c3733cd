import { Type, type Static, type TArray, type TObject, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { DPOP_ALG_NAMES } from './dpop/algs.js'

const Seconds = (def: number, minimum = 0) => Type.Integer({ minimum, default: def })

/**
 * A list setting, written in the environment as items between `separator`s: loadConfig
 * trims each item and drops empty and repeated ones before the items are checked, so
 * the config holds the list and nothing downstream splits it again. A variable that
 * holds no item counts as unset.
 */
function List<T extends TSchema> (item: T, options: { separator?: string, default?: Array<Static<T>>, minItems?: number } = {}): TArray<T> {
  return Type.Array(item, { default: [], ...options, separator: options.separator ?? ',' })
}

/** One `id:secret` of a Basic-credentials list. */
export interface BasicCredential { id: string, secret: string }

/**
 * `id:secret,id2:secret2` (HTTP Basic clients): each item split at its first colon.
 * Marked secret, so that no error message ever shows a value of it.
 */
const Credentials = () => Type.Array(Type.Object({ id: Type.String({ minLength: 1 }), secret: Type.String({ minLength: 1 }) }), { default: [], separator: ',', pairs: true, secret: true })

/** Settings every service reads. Durations are integer seconds. */
export const BaseEnv = Type.Object({
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  /** `redis://`, `rediss://`, or `redis+cluster://host:port,host:port` for a Redis Cluster (see docs/scale.md) */
  REDIS_URL: Type.String({ pattern: '^rediss?(\\+cluster)?://', default: 'redis://127.0.0.1:6379' }),
  /** Seed nodes of a Redis Cluster, `host:port,host:port`; empty: REDIS_URL is one server. */
  REDIS_CLUSTER_NODES: List(Type.String({ pattern: '^[^,\\s]+:\\d{1,5}$' })),
  REDIS_PREFIX: Type.String({ default: 'ratchet:' }),
  /** One server or several, comma-separated (`nats://a:4222,nats://b:4222`): the nodes of a NATS cluster. */
  NATS_URL: List(Type.String({ minLength: 1 }), { default: ['nats://127.0.0.1:4222'], minItems: 1 }),
  NATS_STREAM: Type.String({ pattern: '^[A-Za-z0-9_-]+$', default: 'RATCHET' }),
  NATS_SUBJECT_PREFIX: Type.String({ pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', default: 'ratchet' }),
  ISSUER: Type.String({ pattern: '^https?://', default: 'http://localhost:3001' }),
  AUDIENCE: Type.String({ minLength: 1, default: 'ratchet-api' }),
  ACCESS_TOKEN_TTL: Seconds(900, 1),
  CLOCK_LEEWAY: Seconds(5),
  LOG_LEVEL: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')], { default: 'info' }),
  /** Fastify trustProxy: empty (off), `true`, or the proxies' addresses/CIDRs (comma-separated); rate limits key on the client IP it yields. */
  TRUST_PROXY: Type.String({ default: '' }),
  /** Seconds a client has to send a whole request (headers and body); slower ones get 408. */
  REQUEST_TIMEOUT: Type.Integer({ minimum: 1, maximum: 600, default: 30 }),
  /** Seconds a connection may stay silent (mid-request or idle between requests) before it is closed. */
  CONNECTION_TIMEOUT: Type.Integer({ minimum: 1, maximum: 600, default: 75 }),
  /** Browser origins allowed by CORS, comma-separated (`https://app.example.com`); empty: no CORS headers at all. */
  CORS_ORIGINS: List(Type.String({ pattern: '^https?://[^,/\\s]+$' })),
  /** The web app's origin (services/web), allowed by CORS beside CORS_ORIGINS; empty: none. */
  WEB_ORIGIN: Type.String({ pattern: '^(https?://[^,/\\s]+)?$', default: 'http://localhost:3000' }),
  /** DPoP (RFC 9449, docs/dpop.md): the proof algorithms accepted, space-separated. */
  DPOP_ALGS: List(Type.Enum(DPOP_ALG_NAMES), { separator: ' ', default: ['ES256', 'EdDSA'], minItems: 1 }),
  /** Seconds a DPoP proof is accepted after its iat (plus CLOCK_LEEWAY); its jti is remembered as long. */
  DPOP_PROOF_MAX_AGE: Seconds(60, 1),
  /**
   * A bearer token Prometheus must send to read /metrics (16 characters or more);
   * empty: /metrics is open to whoever reaches the port (keep the port internal).
   */
  METRICS_TOKEN: Type.String({ pattern: '^(\\S{16,})?$', default: '', secret: true }),
  /** The public base URL behind a proxy (`https://api.example.com`): what DPoP proofs' htu must name; empty: the URL as received. */
  PUBLIC_URL: Type.String({ pattern: '^(https?://[^?#\\s]+)?$', default: '' })
})

/** The browser origins CORS allows: WEB_ORIGIN and every one in CORS_ORIGINS. */
export function browserOrigins (config: Pick<BaseConfig, 'CORS_ORIGINS' | 'WEB_ORIGIN'>): string[] {
  return [...new Set([config.WEB_ORIGIN, ...config.CORS_ORIGINS].filter((o) => o !== ''))]
}

export const AuthEnv = Type.Object({
  ...BaseEnv.properties,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3001 }),
  REFRESH_TOKEN_TTL: Seconds(1209600, 1),
  SESSION_MAX_AGE: Seconds(7776000, 1),
  REFRESH_REUSE_GRACE: Seconds(10),
  ACCESS_TOKEN_ALG: Type.Union([Type.Literal('ES256'), Type.Literal('EdDSA'), Type.Literal('PS256')], { default: 'ES256' }),
  /** Path to a JSON file holding the signing key set (see `npm run keys:generate`); empty: shared through Redis. */
  SIGNING_KEYS_FILE: Type.String({ default: '' }),
  DEFAULT_CLIENT_ID: Type.String({ pattern: '^[\\x21-\\x7e]+$', default: 'first-party' }),
  DEFAULT_SCOPE: Type.String({ default: 'notes:read notes:write' }),
  /** Clients that may call /oauth/introspect, `id:secret,id2:secret2` (HTTP Basic); empty: none. */
  INTROSPECTION_CLIENTS: Credentials(),
  RATE_LIMITS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  ARGON2_MEMORY_KIB: Type.Integer({ minimum: 19456, default: 19456 }),
  ARGON2_TIME_COST: Type.Integer({ minimum: 2, default: 2 }),
  ARGON2_PARALLELISM: Type.Integer({ minimum: 1, default: 1 }),
  /** Concurrent argon2 computations; excess logins wait, then get 503. */
  ARGON2_MAX_CONCURRENT: Type.Integer({ minimum: 1, default: 4 }),
  /** Key rotation period in seconds; 0 disables automatic rotation. */
  KEY_ROTATION_INTERVAL: Seconds(0),
  /** A new access key is published this long before it signs (longer than any JWKS cache; see docs/security.md). */
  KEY_PUBLISH_DELAY: Seconds(600),
  /** How often each instance re-reads the shared key set. */
  KEY_RELOAD_INTERVAL: Seconds(15, 1),
  /** Rate-limit window, and the requests allowed per window (see docs/security.md). */
  RATE_LIMIT_WINDOW: Seconds(60, 1),
  RATE_LIMIT_LOGIN_PER_IP: Type.Integer({ minimum: 1, default: 20 }),
  RATE_LIMIT_LOGIN_PER_ACCOUNT: Type.Integer({ minimum: 1, default: 10 }),
  RATE_LIMIT_SIGNUP_PER_IP: Type.Integer({ minimum: 1, default: 10 }),
  /** /v1/refresh and /oauth/token each; generous, as one browser may hold several tabs behind one NAT. */
  RATE_LIMIT_REFRESH_PER_IP: Type.Integer({ minimum: 1, default: 300 }),
  /** Failed logins of one account before each further one doubles the wait (1 s, 2 s, 4 s, ...). */
  LOGIN_FREE_FAILURES: Type.Integer({ minimum: 1, default: 5 }),
  /** Cap on one wait, so an attacker cannot lock a real user out for longer. */
  LOGIN_BACKOFF_MAX: Seconds(900, 1),
  /** Failures are forgotten this long after the last one (and at once on a successful login). */
  LOGIN_FAILURE_TTL: Seconds(3600, 1),
  /** Copies of the event stream the auth service creates: 3 on a NATS cluster, so a node can go (see docs/scale.md). */
  NATS_STREAM_REPLICAS: Type.Integer({ minimum: 1, maximum: 5, default: 1 }),
  /** How long a device cookie from a successful login gives that browser its own login budget (see docs/security.md). */
  DEVICE_COOKIE_TTL: Seconds(15552000, 1),
  /** Live sessions one user may hold; a login past it ends the least recently used (see docs/security.md). */
  MAX_SESSIONS_PER_USER: Type.Integer({ minimum: 1, maximum: 10000, default: 100 }),
  /** `on`: DPoP proofs must carry a server nonce (RFC 9449 §8), handed out in DPoP-Nonce. */
  DPOP_NONCE: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'off' }),
  /** `true`: every session must be DPoP-bound; sign-in and refresh without a proof are refused. */
  DPOP_REQUIRED: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false' }),
  /** Shared Signals receivers allowed to manage a stream, `id:secret,id2:secret2` (HTTP Basic); empty: no receiver (see docs/signals.md). */
  SSF_RECEIVERS: Credentials(),
  /** A regular expression a stream's endpoint_url must match in full; empty: any http(s) URL (see SECURITY.md). */
  SSF_RECEIVER_URL_PATTERN: Type.String({ default: '' }),
  /** How long a SET is retried before it is given up (seconds). */
  SSF_DELIVERY_MAX_AGE: Seconds(86400, 1),
  /** How long one push waits for the receiver's answer (seconds). */
  SSF_DELIVERY_TIMEOUT: Seconds(5, 1),
  /** The longest wait between two attempts at a receiver that keeps failing (seconds). */
  SSF_RETRY_MAX_INTERVAL: Seconds(300, 1)
})

export const ResourceEnv = Type.Object({
  ...BaseEnv.properties,
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3002 }),
  /** empty: derived from ISSUER (see jwksUrlOf) */
  JWKS_URL: Type.String({ pattern: '^(https?://|$)', default: '' }),
  VERIFY_CACHE_SIZE: Type.Integer({ minimum: 0, default: 10000 }),
  NOTE_MAX_LENGTH: Type.Integer({ minimum: 1, default: 2000 }),
  /** DPoP proofs (jti) remembered per instance; when full, the oldest go and older proofs are refused (see docs/dpop.md). */
  DPOP_REPLAY_CACHE_SIZE: Type.Integer({ minimum: 1, default: 100000 })
})

export type BaseConfig = Static<typeof BaseEnv>
export type AuthConfig = Static<typeof AuthEnv>
export type ResourceConfig = Static<typeof ResourceEnv>

/** Thrown with a one-line message that names the bad variable. */
export class ConfigError extends Error {
  readonly code = 'RATCHET_CONFIG_INVALID'
  constructor (readonly variable: string, detail: string) {
    super(`invalid configuration: ${variable} ${detail}`)
  }
}

/** The keywords this module adds to its schemas (JSON Schema validators ignore them). */
interface Keywords { type?: string, items?: TSchema, minItems?: number, separator?: string, pairs?: boolean, secret?: boolean }

/** The raw string as the schema's type; undefined for a list with no item (unset). */
function convert (schema: TSchema, raw: string): unknown {
  const s = schema as Keywords
  if (s.type === 'integer') return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw
  if (s.type === 'array') {
    const items = [...new Set(raw.split(s.separator ?? ',').map((item) => item.trim()).filter((item) => item !== ''))]
    if (items.length === 0) return undefined
    return s.pairs === true ? items.map(credentialOf) : items
  }
  return raw
}

function credentialOf (item: string): BasicCredential {
  const colon = item.indexOf(':')
  return colon === -1 ? { id: item, secret: '' } : { id: item.slice(0, colon), secret: item.slice(colon + 1) }
}

function describe (schema: TSchema): string {
  const s = schema as { type?: string, minimum?: number, maximum?: number, pattern?: string, anyOf?: Array<{ const: unknown }>, enum?: unknown[] }
  if (s.anyOf) return `must be one of ${s.anyOf.map((o) => String(o.const)).join(', ')}`
  if (s.enum) return `must be one of ${s.enum.map(String).join(', ')}`
  if (s.type === 'integer') return `must be an integer${s.minimum !== undefined ? ` >= ${s.minimum}` : ''}${s.maximum !== undefined ? ` and <= ${s.maximum}` : ''}`
  if (s.pattern) return `must match ${s.pattern}`
  return 'is not valid'
}

/**
 * A value as an error may show it: the password of any URL in it (`scheme://user:pass@host`,
 * as REDIS_URL and NATS_URL may carry) replaced, so a typo in the scheme does not print it.
 */
function shown (value: unknown): string {
  return JSON.stringify(value).replace(/(\/\/[^/@:\s"]*):[^/@\s"]*@/g, '$1:***@')
}

/** What is wrong with a value the schema refused; a secret setting's value is never shown, nor a URL's password. */
function problem (schema: TSchema, value: unknown, raw: string | undefined): string {
  const s = schema as Keywords
  if (s.type === 'array' && s.items !== undefined && Array.isArray(value)) {
    const at = value.findIndex((item) => !Value.Check(s.items!, item))
    if (at === -1) return `must list at least ${s.minItems ?? 0} item(s)`
    if (s.secret === true) return `item ${at + 1} of ${value.length} ${s.pairs === true ? 'must be id:secret, neither empty' : describe(s.items)} (not shown: it holds a secret)`
    return `item ${shown(value[at])} ${describe(s.items)}`
  }
  if (s.type === 'array' && !Array.isArray(value)) return 'must be a list'
  if (s.secret === true) return `${describe(schema)} (not shown: it holds a secret)`
  return `${describe(schema)} (got ${shown(raw ?? value)})`
}

/**
 * Reads a config object from environment variables, applying defaults, once at start.
 * An empty string counts as unset. Throws a ConfigError naming the first bad variable.
 */
export function loadConfig<T extends TObject> (schema: T, env: Record<string, string | undefined> = process.env, overrides: Partial<Static<T>> = {}): Static<T> {
  const out: Record<string, unknown> = {}
  for (const [name, prop] of Object.entries(schema.properties)) {
    const raw = env[name]
    const parsed = raw === undefined || raw === '' ? undefined : convert(prop, raw)
    const value = name in overrides
      ? (overrides as Record<string, unknown>)[name]
      : parsed === undefined ? (prop as { default?: unknown }).default : parsed
    if (!Value.Check(prop, value)) throw new ConfigError(name, problem(prop, value, raw))
    out[name] = value
  }
  return out as Static<T>
}

/** The resource service's JWKS URL, derived from the issuer when not set. */
export function jwksUrlOf (config: Pick<ResourceConfig, 'JWKS_URL' | 'ISSUER'>): string {
  return config.JWKS_URL !== '' ? config.JWKS_URL : `${config.ISSUER.replace(/\/$/, '')}/.well-known/jwks.json`
}

/** Turns TRUST_PROXY into Fastify's trustProxy option. */
export function trustProxyOf (setting: string): boolean | string {
  if (setting === '' || setting === 'false') return false
  if (setting === 'true') return true
  return setting
}
