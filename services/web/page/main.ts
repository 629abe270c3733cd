// The web app's page: sign up and in, notes through the resource service, the
// session list, and the three ways to sign out, all through @ratchet/client in
// cookie mode. The refresh token lives only in the auth service's HttpOnly
// cookie, the access token only in this tab's memory; tabs share the sign-in
// through the client.
import { CLIENT_ERROR_CODES, createClient, RatchetClientError, type RatchetClient } from '@ratchet/client'

interface PageConfig { authUrl: string, resourceUrl: string }
interface Note { id: string, text: string }
interface Session { sid: string, current: boolean, created_at: number, last_used_at?: number | null, user_agent?: string | null, ip?: string | null }

/**
 * Set while this browser holds a session, so that a page load only asks the auth
 * service to restore one when there is one (and a first visit sends nothing the
 * browser would log as a failed request). Never a token.
 */
const SIGNED_IN_KEY = 'ratchet.web.signed-in'

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T
const status = byId<HTMLParagraphElement>('status')
const notice = byId<HTMLParagraphElement>('notice')
const signedOutView = byId<HTMLElement>('signed-out')
const signedInView = byId<HTMLElement>('signed-in')
const credentials = byId<HTMLFormElement>('credentials')
const addNote = byId<HTMLFormElement>('add-note')
const notesList = byId<HTMLUListElement>('notes')
const sessionsList = byId<HTMLUListElement>('sessions')
const expiry = byId<HTMLSpanElement>('expiry')

const message = (err: unknown) => {
  if (err instanceof RatchetClientError) {
    const said = (err.body as { message?: unknown } | undefined)?.message
    return typeof said === 'string' ? said : err.message
  }
  return err instanceof Error ? err.message : String(err)
}

async function start (): Promise<void> {
  const config = await (await fetch('/config.json')).json() as PageConfig
  let ratchet: RatchetClient
  try {
    ratchet = createClient({ authUrl: config.authUrl, refreshTokenIn: 'cookie', autoRefresh: true, dpop: true })
  } catch (err) {
    status.textContent = `Signed out: ${message(err)}`
    for (const button of credentials.querySelectorAll('button')) button.disabled = true
    return
  }
  const auth = (path: string) => `${config.authUrl}${path}`
  const resource = (path: string) => `${config.resourceUrl}${path}`
  let signedInAs: string | null = null

  /** A call through the client; a signed-out answer is shown by the signedout listener. */
  async function call (url: string, init?: RequestInit): Promise<Response | null> {
    try {
      return await ratchet.fetch(url, init)
    } catch (err) {
      if ((err as RatchetClientError).code !== CLIENT_ERROR_CODES.SIGNED_OUT) notice.textContent = message(err)
      return null
    }
  }

  async function showNotes (): Promise<void> {
    const res = await call(resource('/v1/notes'))
    if (res === null || !res.ok) return
    const { notes } = await res.json() as { notes: Note[] }
    notesList.replaceChildren(...notes.map((note) => {
      const item = document.createElement('li')
      const text = document.createElement('span')
      text.textContent = note.text
      const remove = document.createElement('button')
      remove.type = 'button'
      remove.textContent = 'Delete'
      remove.addEventListener('click', () => {
        remove.disabled = true
        call(resource(`/v1/notes/${encodeURIComponent(note.id)}`), { method: 'DELETE' }).then(showNotes, () => {})
      })
      item.append(text, remove)
      return item
    }))
  }

  async function showSessions (): Promise<void> {
    const res = await call(auth('/v1/sessions'))
    if (res === null || !res.ok) return
    const { sessions } = await res.json() as { sessions: Session[] }
    const when = (seconds: number) => new Date(seconds * 1000).toLocaleString()
    sessionsList.replaceChildren(...sessions.map((session) => {
      const item = document.createElement('li')
      const name = document.createElement('span')
      name.textContent = session.current ? 'This device' : (session.user_agent ?? 'Another device')
      if (session.current) name.className = 'this-device'
      const detail = document.createElement('small')
      const parts = [`signed in ${when(session.created_at)}`]
      if (typeof session.last_used_at === 'number') parts.push(`last used ${when(session.last_used_at)}`)
      if (session.current && typeof session.user_agent === 'string') parts.push(session.user_agent)
      if (typeof session.ip === 'string') parts.push(session.ip)
      detail.textContent = parts.join(' · ')
      item.append(name, detail)
      return item
    }))
  }

  async function tick (): Promise<void> {
    const exp = (await ratchet.claims())?.exp
    expiry.textContent = typeof exp === 'number' ? String(Math.max(0, Math.round(exp - Date.now() / 1000))) : '–'
  }
  setInterval(() => { tick().catch(() => {}) }, 500)

  function showSignedIn (email: string): void {
    signedInAs = email
    status.textContent = `Signed in as ${email}`
    notice.textContent = ''
    signedOutView.hidden = true
    signedInView.hidden = false
    tick().catch(() => {})
    showNotes().catch(() => {})
    showSessions().catch(() => {})
  }

  function showSignedOut (text: string): void {
    signedInAs = null
    localStorage.removeItem(SIGNED_IN_KEY)
    status.textContent = text
    signedInView.hidden = true
    signedOutView.hidden = false
    notesList.replaceChildren()
    sessionsList.replaceChildren()
  }

  /** This tab holds a session (restored, or handed over by another tab): ask whose. */
  async function joined (): Promise<void> {
    const res = await call(auth('/v1/account'))
    if (res === null || !res.ok || signedInAs !== null) return
    const { email } = await res.json() as { email: string }
    showSignedIn(email)
  }

  ratchet.on('signedout', ({ reason }) => showSignedOut(reason === 'refused' ? 'Signed out: the session has ended' : 'Signed out'))
  ratchet.on('tokens', ({ reason, tokens }) => {
    if (signedInAs === null && reason === 'tab') joined().catch(() => {})
    tick().catch(() => {})
  })

  credentials.addEventListener('submit', (event) => {
    event.preventDefault()
    const action = (event.submitter as HTMLButtonElement | null)?.value === 'signup' ? 'signup' : 'login'
    const form = new FormData(credentials)
    const email = String(form.get('email') ?? '')
    const password = String(form.get('password') ?? '')
    const buttons = [...credentials.querySelectorAll('button')]
    for (const button of buttons) button.disabled = true
    const signIn = action === 'signup' ? ratchet.signup(email, password) : ratchet.login(email, password)
    signIn.then(() => {
      localStorage.setItem(SIGNED_IN_KEY, '1')
      credentials.reset()
      showSignedIn(email)
    }, (err: unknown) => {
      status.textContent = `Signed out: ${message(err)}`
    }).finally(() => { for (const button of buttons) button.disabled = false })
  })

  addNote.addEventListener('submit', (event) => {
    event.preventDefault()
    const text = String(new FormData(addNote).get('text') ?? '')
    call(resource('/v1/notes'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) }).then((res) => {
      if (res?.ok === true) addNote.reset()
      return showNotes()
    }, () => {})
  })

  byId('sign-out').addEventListener('click', () => {
    ratchet.logout().catch((err: unknown) => { status.textContent = `Signed out here; ${message(err)}` })
  })
  byId('sign-out-others').addEventListener('click', () => {
    call(auth('/v1/logout-others'), { method: 'POST' }).then((res) => {
      if (res === null) return
      notice.textContent = res.ok ? 'Other devices signed out' : `Could not sign out other devices (${res.status})`
      return showSessions()
    }, () => {})
  })
  byId('sign-out-everywhere').addEventListener('click', () => {
    call(auth('/v1/logout-all'), { method: 'POST' }).then(async (res) => {
      if (res === null) return
      if (!res.ok) { notice.textContent = `Could not sign out everywhere (${res.status})`; return }
      // this session ended with the rest: forget it here and in every tab
      await ratchet.logout()
    }).catch((err: unknown) => { notice.textContent = message(err) })
  })

  // a reload, or a new tab: resume the session the cookie holds, if this browser had one
  if (localStorage.getItem(SIGNED_IN_KEY) !== null) {
    try {
      const tokens = await ratchet.restore()
      if (tokens === null) showSignedOut('Signed out')
      else if (signedInAs === null) await joined()
    } catch (err) {
      status.textContent = `Signed out: ${message(err)}`
    }
  }
}

start().catch((err: unknown) => { status.textContent = `The page could not start: ${message(err)}` })
