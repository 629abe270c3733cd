// REQUEST_TIMEOUT and CONNECTION_TIMEOUT over real sockets, on both services: a client
// that sends its headers and then trickles its body, or goes silent, is cut off. Each
// case sets the other timeout far out of reach, so the one under test is what acts.
import t from 'tap'
import { connect } from 'node:net'
import { startAuth } from '../services/auth/test/helpers.js'
import { start as startResource } from '../services/resource/test/helpers.js'

/** A hang guard, not a timing assertion: without the timeout the server never lets go. */
const GUARD_MS = 15_000

interface Target { url: string, path: string, headers: Record<string, string> }

/**
 * Sends the head of a POST that promises 10 kB, then `trickle` (a byte every 200 ms:
 * never silent long enough for CONNECTION_TIMEOUT) or nothing more. Resolves with what
 * the server wrote once it closed the connection.
 */
async function slowRequest ({ url, path, headers }: Target, body: 'trickle' | 'silent'): Promise<string> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    let drip: NodeJS.Timeout | undefined
    const socket = connect(Number(port), hostname, () => {
      const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n${extra}\r\n{"text":"`)
      if (body === 'trickle') drip = setInterval(() => { if (socket.writable) socket.write('a') }, 200)
    })
    let answer = ''
    const guard = setTimeout(() => { socket.destroy(); reject(new Error(`the server held a ${body} request for ${GUARD_MS / 1000} s`)) }, GUARD_MS)
    socket.on('data', (d) => { answer += d.toString() })
    socket.on('close', () => { clearInterval(drip); clearTimeout(guard); resolve(answer) })
    // the server may reset the connection while a byte is on its way: that is being cut off too
    socket.on('error', () => {})
  })
}

async function targets (t: Parameters<typeof startAuth>[0], timeouts: { REQUEST_TIMEOUT: number, CONNECTION_TIMEOUT: number }): Promise<Array<[string, Target]>> {
  const auth = await startAuth(t, timeouts)
  const resource = await startResource(t, { config: timeouts })
  return [
    ['the auth service', { url: auth.url, path: '/v1/login', headers: {} }],
    ['the resource service', { url: resource.url, path: '/v1/notes', headers: { authorization: `Bearer ${resource.token()}` } }]
  ]
}

t.test('a body trickled a byte at a time is answered 408 and cut off at REQUEST_TIMEOUT', async (t) => {
  for (const [name, target] of await targets(t, { REQUEST_TIMEOUT: 1, CONNECTION_TIMEOUT: 600 })) {
    const answer = await slowRequest(target, 'trickle')
    t.match(answer, /^HTTP\/1\.1 408 /, `${name} answered 408 and closed the connection`)
  }
})

t.test('a connection silent after its headers is closed at CONNECTION_TIMEOUT', async (t) => {
  for (const [name, target] of await targets(t, { REQUEST_TIMEOUT: 600, CONNECTION_TIMEOUT: 1 })) {
    const answer = await slowRequest(target, 'silent')
    t.equal(answer, '', `${name} closed it without an answer`)
  }
})
