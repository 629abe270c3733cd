import { Type } from 'typebox'

// bounds keep argon2 and JSON parsing work per request small and predictable
/**
 * Refused anywhere in an address: C0/C1 controls, the soft hyphen, zero-width
 * characters and joiners, bidi marks, embeddings, overrides and isolates, the
 * BOM. Each can make two addresses look alike, or one look like another.
 */
export const EMAIL_INVISIBLE = '\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u206f\\ufeff'
export const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  pattern: `^\\s*[^\\s@${EMAIL_INVISIBLE}]+@[^\\s@${EMAIL_INVISIBLE}]+\\s*$`,
  description: 'NFKC-normalised, trimmed and lower-cased before use; at most 254 characters after that; no control, zero-width, soft-hyphen or bidi characters'
})
export const Password = Type.String({ minLength: 8, maxLength: 1024, description: '8 to 1024 characters, any characters (NIST SP 800-63B)' })
export const Jwt = Type.String({ minLength: 1, maxLength: 4096, pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*$' })

export const Credentials = Type.Object({ email: Email, password: Password }, { additionalProperties: false })

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP')], { description: 'DPoP when the access token is bound to the DPoP proof key (RFC 9449 §5)' }),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  refresh_token_expires_in: Type.Integer(),
  scope: Type.String()
})

export const SignupResponse = Type.Object({
  ...TokenResponse.properties,
  user: Type.Object({ id: Type.String(), email: Type.String() })
})

export { ErrorResponse } from '@ratchet/fastify'

export const Session = Type.Object({
  sid: Type.String(),
  client_id: Type.String(),
  scope: Type.String(),
  created_at: Type.Number({ description: 'NumericDate, ms precision: the login' }),
  last_used_at: Type.Number({ description: 'NumericDate, ms precision: the last refresh (the login when there was none)' }),
  expires_at: Type.Integer({ description: 'idle expiry of the current refresh token' }),
  max_expires_at: Type.Integer(),
  user_agent: Type.Union([Type.String(), Type.Null()], { description: 'as sent at login, at most 200 characters' }),
  ip: Type.Union([Type.String(), Type.Null()], { description: 'client address at login (TRUST_PROXY respected)' }),
  current: Type.Boolean()
})
