/**
 * Fixture: controller members on a real etcd, and fake switches for every topology node, each
 * connected to every member (one role book and one table per switch, as a real switch has).
 */
import { join } from 'node:path';
import pino from 'pino';
import { startMember, type RunningMember } from '../../controller/ha/member.js';
import { loadTopology } from '../../src/topology/load.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { FakeSwitch, RoleBook } from '../../src/openflow-sim/fake-switch.js';
import { SimNetwork, type SimSwitch } from '../../src/openflow-sim/network.js';
import { freePort, startEtcd, type EtcdCluster } from '../../testbed/etcd.js';
import { planPorts } from '../controller/world.js';
import { repoRoot } from '../util/paths.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface SimCluster {
  topology: ResolvedTopology;
  /** The members' etcd key prefix. */
  prefix: string;
  nodes: string[];
  net: SimNetwork;
  tables: Map<string, SimSwitch>;
  members: RunningMember[];
  /** Per member: its connection of every switch. */
  conns: Map<RunningMember, Map<string, FakeSwitch>>;
  /** `advertise` maps the member's API port to the URL it advertises (default: that API itself). */
  start(name: string, options?: { advertise?: (apiPort: number) => string }): Promise<RunningMember>;
  /** Connects every switch to `m`. */
  connect(m: RunningMember): void;
  apiOf(m: RunningMember): string;
  flowModsFrom(m: RunningMember): number;
  close(): Promise<void>;
}

export async function simCluster(etcd: string[], file = 'two-region.json'): Promise<SimCluster> {
  const topology = await loadTopology(join(repoRoot(), 'topologies', file));
  const logger = pino({ level: process.env.VINO_TEST_LOG ?? 'silent' });
  const prefix = `/vino-sim-${process.pid}-${Math.random().toString(36).slice(2, 8)}/`;
  const net = new SimNetwork();
  const tables = new Map<string, SimSwitch>();
  const books = new Map<string, RoleBook>();
  for (const name of Object.keys(topology.nodes)) {
    tables.set(name, net.addSwitch(name));
    books.set(name, new RoleBook());
  }
  for (const link of topology.links) net.link(link.a.node, link.a.ofport, link.b.node, link.b.ofport);
  const c: SimCluster = {
    topology, prefix, nodes: Object.keys(topology.nodes), net, tables, members: [], conns: new Map(),
    async start(name, options) {
      const apiPort = await freePort();
      const m = await startMember({
        topology, etcd, member: name, advertiseApi: options?.advertise?.(apiPort) ?? `http://127.0.0.1:${apiPort}`, prefix, logger, leaseTtlSeconds: 1,
        ofListen: [{ host: '127.0.0.1', port: 0 }], apiListen: { host: '127.0.0.1', port: apiPort },
        session: { echoIntervalMs: 1000, idleTimeoutMs: 5000 },
      });
      c.members.push(m);
      return m;
    },
    connect(m) {
      const byNode = new Map<string, FakeSwitch>();
      for (const [name, n] of Object.entries(topology.nodes)) {
        byNode.set(name, new FakeSwitch(m.openflow[0]!.port, { datapathId: BigInt(`0x${n.bridge.dpid}`), ports: planPorts(topology, name), table: tables.get(name)!, roles: books.get(name)! }));
      }
      c.conns.set(m, byNode);
    },
    apiOf: (m) => `http://127.0.0.1:${m.api!.port}`,
    flowModsFrom: (m) => [...c.conns.get(m)!.values()].reduce((n, f) => n + f.received.filter((x) => x.type === 'FLOW_MOD' || x.type === 'GROUP_MOD').length, 0),
    async close() {
      for (const byNode of c.conns.values()) for (const f of byNode.values()) f.close();
      for (const m of c.members) await m.stop().catch(() => {});
    },
  };
  return c;
}

/**
 * A real etcd (`size` nodes) and a cluster on it, torn down with the test: member a master and
 * b its follower, every switch connected to both, roles claimed and the master's flows installed.
 */
export async function twoMembersOnEtcd(t: { teardown: (fn: () => unknown) => void }, etcdOptions: { name: string; size?: 1 | 3 }): Promise<{ etcd: EtcdCluster; c: SimCluster; a: RunningMember; b: RunningMember }> {
  const etcd = await startEtcd(etcdOptions);
  const c = await simCluster(etcd.endpoints);
  t.teardown(async () => {
    await c.close();
    await etcd.stop();
  });
  const a = await c.start('a');
  const b = await c.start('b');
  c.connect(a);
  c.connect(b);
  await until('roles claimed', () => c.nodes.every((n) => c.conns.get(a)!.get(n)!.role === 'MASTER' && c.conns.get(b)!.get(n)!.role === 'SLAVE'));
  await until('flows installed', () => c.nodes.every((n) => c.tables.get(n)!.flows.length > 0));
  return { etcd, c, a, b };
}
