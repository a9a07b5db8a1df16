/**
 * A controller under test with one fake switch per topology node (over real TCP, our codec),
 * whose tables are joined into a simulated network along the topology's tunnels, so that tests
 * can walk frames through exactly what the controller installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { startApp, type RunningApp } from '../../controller/app.js';
import { loadTopology } from '../../src/topology/load.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { FakeSwitch, fakePort } from '../../src/openflow-sim/fake-switch.js';
import { SimNetwork, SimSwitch } from '../../src/openflow-sim/network.js';
import { Port } from '../../src/openflow/constants.js';
import type { PortDesc } from '../../src/openflow/types/index.js';
import { repoRoot } from '../util/paths.js';
import type { HoldLimits } from '../../controller/migration/hold.js';
import type { SessionOptions } from '../../controller/shell/session.js';

export interface World {
  topology: ResolvedTopology;
  app: RunningApp;
  switches: Map<string, FakeSwitch>;
  tables: Map<string, SimSwitch>;
  net: SimNetwork;
  stateFile: string;
  apiUrl: string;
  /**
   * Restarts the controller (same state file); switches reconnect keeping their tables.
   * `whileDown` runs between stop and start (a test can put back the state file of a crash).
   */
  restartController(whileDown?: () => void | Promise<void>): Promise<void>;
  /** The first half of a restart: switches disconnected, controller stopped. */
  stopController(): Promise<void>;
  /** The second half: a new controller (on `apiPort` if given), switches reconnected. */
  startController(opts?: { apiPort?: number }): Promise<void>;
  connectSwitch(node: string): Promise<FakeSwitch>;
  /** The port number the fake switch of `node` gives the port named `name`. */
  ofport(node: string, name: string): number;
  /** Makes the fake network match `next` (new switches and tunnels; removed tunnels unplugged); does not connect them. */
  reshape(next: ResolvedTopology): void;
  waitSettled(): Promise<void>;
  close(): Promise<void>;
}

/** Gives a port another number than the plan's (as OVS may, or an overlay built by hand). */
export type Renumber = (node: string, port: string, planned: number) => number;

export function planPorts(topology: ResolvedTopology, node: string, renumber: Renumber = (_n, _p, planned) => planned): PortDesc[] {
  const n = topology.nodes[node]!;
  return [...n.bridge.ports.map((p) => fakePort(renumber(node, p.name, p.ofport), p.name)), fakePort(Port.LOCAL, n.bridge.name)];
}

export async function makeWorld(file: string | ResolvedTopology, opts: { connect?: boolean; apiToken?: string; logger?: Logger; apiMaxBodyBytes?: number; holdLimits?: Partial<HoldLimits>; session?: Partial<SessionOptions>; renumber?: Renumber; onModify?: (node: string, msg: import('../../src/openflow/types/index.js').Message) => void } = {}): Promise<World> {
  let topology = typeof file === 'string' ? await loadTopology(join(repoRoot(), 'topologies', file)) : file;
  const renumber: Renumber = opts.renumber ?? ((_n, _p, planned) => planned);
  const dir = mkdtempSync(join(tmpdir(), 'vino-world-'));
  const stateFile = join(dir, 'state.json');
  const logger = opts.logger ?? pino({ level: process.env.VINO_TEST_LOG ?? 'silent' });
  const start = (apiPort = 0) => startApp({
    topology, ofListen: [{ host: '127.0.0.1', port: 0 }], apiListen: { host: '127.0.0.1', port: apiPort }, stateFile, logger,
    ...(opts.apiToken ? { apiToken: opts.apiToken } : {}),
    ...(opts.apiMaxBodyBytes !== undefined ? { apiMaxBodyBytes: opts.apiMaxBodyBytes } : {}),
    ...(opts.holdLimits ? { holdLimits: opts.holdLimits } : {}),
    session: { echoIntervalMs: 1000, idleTimeoutMs: 5000, ...opts.session },
  });
  const tables = new Map<string, SimSwitch>();
  const net = new SimNetwork();
  for (const name of Object.keys(topology.nodes)) {
    const sw = net.addSwitch(name);
    tables.set(name, sw);
  }
  const plugged = (t: ResolvedTopology) => new Map(t.links.map((l) => [`${l.a.node}/${l.a.port}~${l.b.node}/${l.b.port}`, l]));
  for (const l of topology.links) net.link(l.a.node, renumber(l.a.node, l.a.port, l.a.ofport), l.b.node, renumber(l.b.node, l.b.port, l.b.ofport));

  const world: World = {
    topology, app: await start(), switches: new Map(), tables, net, stateFile, apiUrl: '',
    async connectSwitch(node) {
      const old = world.switches.get(node);
      old?.close();
      const n = topology.nodes[node]!;
      const sw = new FakeSwitch(world.app.openflow[0]!.port, { datapathId: BigInt(`0x${n.bridge.dpid}`), ports: planPorts(topology, node, renumber), table: tables.get(node)!, ...(opts.onModify ? { onModify: (m) => void opts.onModify!(node, m) } : {}) });
      world.switches.set(node, sw);
      // Connected and read back: the reconcile's flow-stats request is the last step of the handshake.
      await sw.waitFor((m) => m.type === 'MULTIPART_REQUEST' && m.body.kind === 'FLOW', 5000);
      return sw;
    },
    ofport(node, name) {
      const planned = topology.nodes[node]?.bridge.ports.find((p) => p.name === name)?.ofport;
      if (planned === undefined) throw new Error(`no port ${name} planned on ${node}`);
      return renumber(node, name, planned);
    },
    reshape(next) {
      const before = plugged(topology);
      const after = plugged(next);
      for (const [key, l] of before) if (!after.has(key)) {
        world.net.unlink(l.a.node, renumber(l.a.node, l.a.port, l.a.ofport));
        world.net.unlink(l.b.node, renumber(l.b.node, l.b.port, l.b.ofport));
      }
      // Ports the new plan adds appear on connected switches, as provisioning would add them.
      for (const [name, sw] of world.switches) {
        const had = new Set(topology.nodes[name]?.bridge.ports.map((p) => p.name) ?? []);
        for (const p of next.nodes[name]?.bridge.ports ?? []) if (!had.has(p.name) && !sw.closed) sw.addPort(fakePort(renumber(name, p.name, p.ofport), p.name));
      }
      topology = next;
      world.topology = next;
      for (const name of Object.keys(next.nodes)) if (!tables.has(name)) tables.set(name, net.addSwitch(name));
      for (const [key, l] of after) if (!before.has(key)) net.link(l.a.node, renumber(l.a.node, l.a.port, l.a.ofport), l.b.node, renumber(l.b.node, l.b.port, l.b.ofport));
    },
    async waitSettled() {
      // Every switch connected and the controller's queued changes done.
      for (let i = 0; i < 200; i++) {
        const info = world.app.controller.switchInfo();
        if (info.filter((s) => !s.fallback && world.switches.has(s.name!)).every((s) => s.connected)) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      // As if every container had sent to every other: ingress entries are on demand (filled from
      // packet-ins of misses, which frames walked through the simulated tables never send), and
      // the tests that walk frames check forwarding; test/controller/demand.test.ts checks demand.
      const ctl = world.app.controller;
      const hosts = Object.values(world.topology.nodes).filter((n) => n.kind === 'host').map((n) => n.name);
      for (const l of ctl.locations.all()) for (const h of hosts) ctl.noteDemand(h, l.mac);
      await ctl.requestSync('test settle');
    },
    async restartController(whileDown) {
      await world.stopController();
      await whileDown?.();
      await world.startController();
    },
    async stopController() {
      for (const sw of world.switches.values()) sw.close();
      await world.app.stop();
    },
    async startController(startOpts = {}) {
      world.app = await start(startOpts.apiPort);
      world.apiUrl = `http://127.0.0.1:${world.app.api!.port}`;
      for (const node of Object.keys(topology.nodes)) await world.connectSwitch(node);
      await world.waitSettled();
    },
    async close() {
      for (const sw of world.switches.values()) sw.close();
      await world.app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  world.apiUrl = `http://127.0.0.1:${world.app.api!.port}`;
  if (opts.connect !== false) {
    for (const node of Object.keys(topology.nodes)) await world.connectSwitch(node);
    await world.waitSettled();
  }
  return world;
}

/** Walks an IPv4 frame from container `src` to container `dst` through the simulated tables. */
export function walkBetween(world: World, src: string, dst: string) {
  const a = world.app.controller.locations.get(src)!;
  const b = world.app.controller.locations.get(dst)!;
  return world.net.walk(a.node, a.ofport, { eth_src: a.mac, eth_dst: b.mac, eth_type: 0x0800, ipv4_src: a.ip ?? '0.0.0.0', ipv4_dst: b.ip ?? '0.0.0.0' });
}

/** POST to the world's API with a JSON body. */
export const postJson = (w: World, path: string, body: unknown = {}) =>
  fetch(`${w.apiUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A migration as GET /api/v1/migrations/{id} shows it (typed by the caller: the fields it reads). */
export const getMigration = async <V>(w: World, id: string) => (await (await fetch(`${w.apiUrl}/api/v1/migrations/${id}`)).json()) as V;

/** Probes every 10 ms until `ok` holds (5 s at most); the last value, or an error naming it. */
export async function untilValue<T>(what: string, probe: () => Promise<T> | T, ok: (v: T) => boolean): Promise<T> {
  let v = await probe();
  for (let i = 0; i < 500 && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 10));
    v = await probe();
  }
  if (!ok(v)) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
  return v;
}

/** A 60-byte IPv4 frame from `src` to `dst` (MACs), its header zeroed but for the version. */
export function ipv4Frame(dst: string, src: string): Buffer {
  const f = Buffer.alloc(60);
  Buffer.from(dst.replace(/:/g, ''), 'hex').copy(f, 0);
  Buffer.from(src.replace(/:/g, ''), 'hex').copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  return f;
}

/** A frame for `mac` whose payload carries its sequence number (bytes 14..17). */
export function numberedFrame(mac: string, seq: number, size = 64): Buffer {
  const f = Buffer.alloc(size);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(f, 0);
  Buffer.from('020000000099', 'hex').copy(f, 6);
  f.writeUInt16BE(0x88b5, 12);
  f.writeUInt32BE(seq, 14);
  return f;
}

/**
 * A tunnel port vanishes from `node` (deleted by hand, say): gone from the fake switch
 * (PORT_STATUS DELETE) and from the simulated wiring; resolves once the controller has seen it
 * and settled.
 */
export async function cutPort(w: World, node: string, ofport: number): Promise<void> {
  w.switches.get(node)!.removePort(ofport);
  w.net.unlink(node, ofport);
  for (let i = 0; i < 200 && w.app.controller.sessions.get(node)!.ports.has(ofport); i++) await new Promise((r) => setTimeout(r, 10));
  await w.waitSettled();
}
