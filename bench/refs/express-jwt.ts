/**
 * "The stack most tutorials use": Express + jsonwebtoken, verifying an RS256 bearer
 * token on every request (no cache), answering the same claims as GET /v1/me.
 */
import { generateKeyPairSync } from 'node:crypto'
import express from 'express'
import jwt from 'jsonwebtoken'
import { tell } from '../lib/proc.js'

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const issuer = 'http://localhost:3001'
const audience = 'ratchet-api'
const token = jwt.sign(
  { sid: 'bench-session', scope: 'notes:read notes:write', client_id: 'first-party' },
  privateKey,
  { algorithm: 'RS256', subject: 'bench-user', issuer, audience, expiresIn: 3600, jwtid: 'bench-jti', keyid: 'bench' }
)

const app = express()
app.disable('x-powered-by')
app.get('/v1/me', (req, res) => {
  const header = req.headers.authorization ?? ''
  if (!header.startsWith('Bearer ')) { res.status(401).json({ error: 'no token' }); return }
  try {
    const claims = jwt.verify(header.slice(7), publicKey, { algorithms: ['RS256'], issuer, audience }) as jwt.JwtPayload
    res.json({ sub: claims.sub, sid: claims.sid, scope: claims.scope, exp: claims.exp })
  } catch {
    res.status(401).json({ error: 'invalid_token' })
  }
})
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const addr = server.address()
  tell('ready', { port: typeof addr === 'object' && addr !== null ? addr.port : 0, token })
})
process.on('SIGTERM', () => { server.close(() => process.exit(0)) })
