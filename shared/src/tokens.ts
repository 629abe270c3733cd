/** JOSE `typ` of access tokens (RFC 9068 §2.1). // wire contract */
export const ACCESS_TOKEN_TYP = 'at+jwt'
/** JOSE `typ` of refresh tokens: a type of their own, so neither is taken for the other. // wire contract */
export const REFRESH_TOKEN_TYP = 'rt+jwt'
/** Access-token signing algorithms the auth service offers. */
export const ACCESS_TOKEN_ALGS = ['ES256', 'EdDSA', 'PS256'] as const
export type AccessTokenAlg = typeof ACCESS_TOKEN_ALGS[number]

/** Claims of an access token (RFC 9068 profile plus `sid`). // wire contract */
export interface AccessTokenClaims {
  iss: string
  aud: string
  sub: string
  client_id: string
  iat: number
  exp: number
  jti: string
  sid: string
  scope: string
  /** When the session started: NumericDate with millisecond precision. */
  auth_time: number
  /** The DPoP key the token is bound to (RFC 9449 §6.1): its RFC 7638 thumbprint. */
  cnf?: { jkt: string }
}

/** Claims of a refresh token; its audience is the issuer itself. // wire contract */
export interface RefreshTokenClaims {
  iss: string
  aud: string
  sub: string
  sid: string
  jti: string
  client_id: string
  iat: number
  exp: number
}

/** RFC 6749 §5.1 token response, plus `refresh_token_expires_in`. // wire contract */
export interface TokenResponse {
  access_token: string
  /** `DPoP` when the access token is bound to the proof's key (RFC 9449 §5) */
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  refresh_token: string
  refresh_token_expires_in: number
  scope: string
}
