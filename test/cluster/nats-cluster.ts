import { join } from 'node:path'
import { eventually } from '../support.js'
import { quietPort, serverGroup, type Server } from './processes.js'

type Test = { teardown: (fn: () => unknown) => void }

export interface NatsNode extends Server {
  name: string
  url: string
  monitorPort: number
}

export interface NatsCluster {
  /** NATS_URL for the services: every node */
  servers: string[]
  nodes: NatsNode[]
}

interface Jsz { meta_cluster?: { leader?: string, cluster_size?: number } }

async function jsz (monitorPort: number): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/jsz`, { signal: AbortSignal.timeout(1000) })
    return res.ok ? await res.json() as Jsz : undefined
  } catch {
    return undefined
  }
}

/**
 * A real JetStream cluster of `size` nats-server nodes (n1, n2, ...) on free ports,
 * each storing in its own temporary folder, routed to every other node. Returns
 * once every node sees the same JetStream meta leader and the full cluster.
 */
export async function startNatsCluster (t: Test, size = 3): Promise<NatsCluster> {
  const { dir, start } = await serverGroup(t, 'nats-cluster')
  const ports: Array<{ client: number, route: number, monitor: number }> = []
  for (let i = 0; i < size; i++) ports.push({ client: await quietPort(22000, 32000), route: await quietPort(22000, 32000), monitor: await quietPort(22000, 32000) })
  const nodes: NatsNode[] = ports.map((p, i) => {
    const name = `n${i + 1}`
    const routes = ports.filter((_, j) => j !== i).map((o) => `nats://127.0.0.1:${o.route}`).join(',')
    const server = start('nats-server', [
      '-js', '-sd', join(dir, name), '-a', '127.0.0.1', '-p', String(p.client), '-m', String(p.monitor),
      '--cluster', `nats://127.0.0.1:${p.route}`, '--routes', routes, '-n', name, '--cluster_name', 'ratchet'
    ], p.client)
    return { ...server, name, url: `nats://127.0.0.1:${p.client}`, monitorPort: p.monitor }
  })
  await eventually(async () => {
    const seen = await Promise.all(nodes.map(async (n) => await jsz(n.monitorPort)))
    const leaders = new Set(seen.map((s) => s?.meta_cluster?.leader))
    const complete = seen.every((s) => s?.meta_cluster?.cluster_size === size)
    return leaders.size === 1 && !leaders.has(undefined) && !leaders.has('') && complete ? true : undefined
  }, 30000, 100).catch((err: Error) => {
    throw new Error(`the NATS cluster formed no JetStream meta leader: ${err.message}\n${nodes.map((n) => `${n.name}: ${n.output()}`).join('\n')}`)
  })
  return { servers: nodes.map((n) => n.url), nodes }
}
