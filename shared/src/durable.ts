import { isConsumerNotFound } from './consume-loop.js'

/**
 * The settings of a JetStream consumer the drift check reads. nats.js' ConsumerConfig has
 * this shape; shared/ names the fields itself so that it needs no NATS client.
 */
export interface DurableConfig {
  durable_name?: string
  ack_policy?: string
  deliver_policy?: string
  filter_subject?: string
  filter_subjects?: string[]
  deliver_subject?: string
  replay_policy?: string
  max_deliver?: number
  headers_only?: boolean
  inactive_threshold?: number
  backoff?: number[]
  pause_until?: string
  ack_wait?: number
  max_ack_pending?: number
}

/** What the keeper needs of a JetStream manager's `consumers` (nats.js' ConsumerAPI has it). */
export interface DurableApi<C extends DurableConfig> {
  info: (stream: string, name: string) => Promise<{ config: DurableConfig }>
  add: (stream: string, config: C) => Promise<unknown>
  update: (stream: string, name: string, config: Partial<C>) => Promise<unknown>
  delete: (stream: string, name: string) => Promise<unknown>
}

/** Settings only tuned (in place, no replay): instances of two versions may differ on them. */
const TUNABLE = ['ack_wait', 'max_ack_pending'] as const

/**
 * The settings in which the durable on the server differs from `wanted`, and so does not
 * deliver every event to us once, in full, soon: another filter, push delivery, a cap on
 * redeliveries, headers only, a pause, an idle timeout that deletes it... Absent settings
 * are the server's defaults; a tunable setting `wanted` leaves out is not compared.
 */
export function durableDrift (actual: DurableConfig, wanted: DurableConfig, now = Date.now()): string[] {
  const drift: string[] = []
  const differs = (name: string, bad: boolean): void => { if (bad) drift.push(name) }
  differs('filter_subject', actual.filter_subject !== wanted.filter_subject)
  differs('filter_subjects', (actual.filter_subjects ?? []).some((f) => f !== wanted.filter_subject))
  differs('ack_policy', actual.ack_policy !== wanted.ack_policy)
  differs('deliver_policy', actual.deliver_policy !== wanted.deliver_policy)
  differs('deliver_subject', (actual.deliver_subject ?? '') !== '')
  differs('replay_policy', (actual.replay_policy ?? 'instant') !== 'instant')
  differs('max_deliver', (actual.max_deliver ?? -1) > 0)
  differs('headers_only', actual.headers_only === true)
  differs('inactive_threshold', (actual.inactive_threshold ?? 0) > 0)
  differs('backoff', (actual.backoff ?? []).length > 0)
  differs('pause_until', actual.pause_until !== undefined && Date.parse(actual.pause_until) > now)
  for (const name of TUNABLE) differs(name, wanted[name] !== undefined && actual[name] !== wanted[name])
  return drift
}

export interface DurableKeeperOptions<N, C extends DurableConfig> {
  stream: string
  /** the durable as this service creates it; `durable_name` is its name // wire contract */
  wanted: C & { durable_name: string }
  /** the connection's consumer API (`(await nc.jetstreamManager()).consumers`) */
  api: (nc: N) => Promise<DurableApi<C>>
  log: { info: (o: object, msg: string) => void, warn: (o: object, msg: string) => void }
}

/**
 * Keeps a durable consumer on the server as this service made it. The durable lives on
 * the server, where anyone allowed to can delete or change it: `ensure` (before each
 * subscription) creates it when missing, updates a tunable setting in place, and
 * recreates it when it was changed in what it delivers (it then replays the stream:
 * every consumer of ours is idempotent). `ours` is the watchdog's question while
 * consuming. One log line per repair.
 */
export function createDurableKeeper<N extends object, C extends DurableConfig> (opts: DurableKeeperOptions<N, C>) {
  const { stream, wanted, log } = opts
  const name = wanted.durable_name
  const where = { stream, consumer: name }
  // whether this process has seen its durable on the server: a missing one is then news
  const seen = { once: false }
  // one API per connection: each jetstreamManager() first asks the server for its API info
  const apis = new WeakMap<N, Promise<DurableApi<C>>>()

  function apiOf (nc: N): Promise<DurableApi<C>> {
    let api = apis.get(nc)
    if (api === undefined) {
      api = opts.api(nc)
      api.catch(() => { apis.delete(nc) })
      apis.set(nc, api)
    }
    return api
  }

  async function check (api: DurableApi<C>): Promise<'ok' | 'missing' | string[]> {
    try {
      const drift = durableDrift((await api.info(stream, name)).config, wanted)
      return drift.length === 0 ? 'ok' : drift
    } catch (err) {
      if (isConsumerNotFound(err)) return 'missing'
      throw err
    }
  }

  return {
    async ensure (nc: N): Promise<void> {
      const api = await apiOf(nc)
      const found = await check(api)
      if (found === 'ok') { seen.once = true; return }
      if (found === 'missing') {
        await api.add(stream, wanted)
        // the first time, a fresh stream; later, someone deleted it
        if (seen.once) log.warn(where, 'the durable event consumer was gone; recreated it')
        else log.info(where, 'created a durable event consumer')
      } else if (found.every((setting) => (TUNABLE as readonly string[]).includes(setting))) {
        const tuned: Partial<C> = {}
        for (const setting of TUNABLE) if (wanted[setting] !== undefined) Object.assign(tuned, { [setting]: wanted[setting] })
        await api.update(stream, name, tuned)
        log.warn({ ...where, changed: found }, 'the durable event consumer had other settings; updated it')
      } else {
        await api.delete(stream, name).catch((err: unknown) => { if (!isConsumerNotFound(err)) throw err })
        await api.add(stream, wanted)
        log.warn({ ...where, changed: found }, 'the durable event consumer was changed; recreated it, replaying the stream')
      }
      seen.once = true
    },

    /** Whether the durable on the server is still ours; throws when the server cannot be asked. */
    async ours (nc: N): Promise<boolean> {
      const api = await apiOf(nc)
      try {
        return await check(api) === 'ok'
      } catch (err) {
        apis.delete(nc)
        throw err
      }
    }
  }
}
