/**
 * `npm run bench:reload`: a topology reload on a running controller against emulated switches
 * (bench/lib/emulated-switch.ts, one per node, over loopback TCP), next to a full restart of the
 * controller with the grown topology in the same run.
 *
 *   24 → 27 nodes: topologies/paper-24.json plus a region of one switch and two hosts;
 *   1,000 switches: src/topology/generate.ts (regions of 10, two hosts each) plus one region.
 *
 * Reported: time to diff, switches touched, flow_mods (and group/meter mods) sent, time from the
 * reload call to the last barrier, and the longest the event loop was blocked meanwhile (the
 * recomputation runs in slices that yield: this is its longest single step, what the other
 * switches' echoes and packet-ins waited at worst); for the restart, from start to every switch
 * connected and every first sync confirmed. The emulated switches keep no flow table (flow stats
 * come back empty), so a restart here re-sends every flow; a restart against OVS reads flows back
 * instead, but still waits for every switch to reconnect. Options: --switches N (default 1000).
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { startApp, type RunningApp } from '../controller/app.js';
import { addRegion, generateTopology, type TopologyDocument } from '../src/topology/generate.js';
import { resolveTopology } from '../src/topology/load.js';
import type { ResolvedTopology } from '../src/topology/types.js';
import { EmulatedSwitch } from './lib/emulated-switch.js';
import { describeMachine } from './lib/timing.js';
import { repoRoot } from '../testbed/workload/overlay.js';
import { join } from 'node:path';

interface Row {
  case: string;
  nodesBefore: number;
  nodesAfter: number;
  diffMs: number;
  switchesTouched: number;
  flowMods: number;
  reloadMs: number;
  /** Longest the event loop was blocked during the reload (other switches waited that long). */
  stallMs: number;
  restartMs: number;
  restartMods: number;
}

const log = pino({ level: 'silent' });

/** Emulated switches for every node of `grown` (ports as planned for the grown topology: provisioned before the reload). */
function emulate(grown: ResolvedTopology): EmulatedSwitch[] {
  return Object.values(grown.nodes).map((node, index) => new EmulatedSwitch({
    index, datapathId: BigInt(`0x${node.bridge.dpid}`), bridgeName: node.bridge.name,
    ports: node.bridge.ports.map((p) => ({ ofport: p.ofport, name: p.name })),
    edgePorts: [65000, 65001],
  }));
}

const mods = (sw: EmulatedSwitch[]) => sw.reduce((n, s) => n + s.counters.flowMods + s.counters.groupMods + s.counters.meterMods, 0);

async function start(topology: ResolvedTopology): Promise<RunningApp> {
  return startApp({ topology, ofListen: [{ host: '127.0.0.1', port: 0 }], apiListen: null, logger: log, session: { requestTimeoutMs: 120_000, handshakeTimeoutMs: 120_000, idleTimeoutMs: 600_000, echoIntervalMs: 60_000 } });
}

/** Connects `switches` (of nodes present in `topology`) and waits until every first sync is confirmed; ms. */
async function connectAll(app: RunningApp, switches: EmulatedSwitch[], topology: ResolvedTopology): Promise<number> {
  const t0 = performance.now();
  const port = app.openflow[0]!.port;
  const mine = switches.filter((s) => topology.dpids[s.config.datapathId.toString(16).padStart(16, '0')] !== undefined);
  await connectInBatches(mine, port);
  await waitSessions(app, mine.length);
  await app.controller.requestSync('bench: settle');
  return performance.now() - t0;
}

/** Bounded: a run that cannot get its switches fails with the count instead of hanging. */
async function waitSessions(app: RunningApp, expected: number, timeoutMs = 600_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (app.controller.sessions.size < expected) {
    if (performance.now() > deadline) throw new Error(`${app.controller.sessions.size} of ${expected} switches connected after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A hundred at a time, each batch through its handshake before the next: a thousand SYNs at once
 * overflow the listen backlog while the controller is busy computing.
 */
async function connectInBatches(switches: EmulatedSwitch[], port: number): Promise<void> {
  for (let i = 0; i < switches.length; i += 100) {
    const batch = switches.slice(i, i + 100);
    await Promise.all(batch.map((s) => s.connect('127.0.0.1', port, performance.now() + 600_000)));
    await Promise.all(batch.map((s) => s.ready));
  }
}

async function runCase(name: string, before: TopologyDocument | object, after: TopologyDocument | object): Promise<Row> {
  const t0 = resolveTopology(before);
  const t1 = resolveTopology(after);
  // Switches of the new nodes connect after the reload (as after provisioning); the others before.
  const switches = emulate(t1);
  let app = await start(t0);
  await connectAll(app, switches, t0);
  const newOnes = switches.filter((s) => !t0.dpids[s.config.datapathId.toString(16).padStart(16, '0')]);
  const modsBefore = mods(switches);
  const stalls = monitorEventLoopDelay({ resolution: 5 });
  stalls.enable();
  // The histogram counts delays between its own ticks: a block before its first tick would be missed.
  await new Promise((r) => setTimeout(r, 25));
  const started = performance.now();
  const result = await app.controller.reload(t1);
  await connectInBatches(newOnes, app.openflow[0]!.port);
  await waitSessions(app, Object.keys(t1.nodes).length);
  await app.controller.requestSync('bench: settle');
  const reloadMs = performance.now() - started;
  stalls.disable();
  const reloadMods = mods(switches) - modsBefore;
  for (const s of switches) s.close();
  await app.stop();

  // Full restart with the grown topology: every switch reconnects and gets its flows.
  const fresh = emulate(t1);
  const restartStarted = performance.now();
  app = await start(t1);
  await connectAll(app, fresh, t1);
  const restartMs = performance.now() - restartStarted;
  const restartMods = mods(fresh);
  for (const s of fresh) s.close();
  await app.stop();
  return {
    case: name, nodesBefore: Object.keys(t0.nodes).length, nodesAfter: Object.keys(t1.nodes).length, diffMs: result.diffMs,
    switchesTouched: new Set([...result.switchesTouched, ...newOnes.map((s) => s.config.bridgeName)]).size, flowMods: reloadMods,
    reloadMs: Math.round(reloadMs * 10) / 10, stallMs: Math.round(stalls.max / 1e5) / 10, restartMs: Math.round(restartMs * 10) / 10, restartMods,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--switches');
  const n = i >= 0 ? Number(args[i + 1]) : 1000;
  if (!Number.isInteger(n) || n < 2) throw new Error(`--switches: expected a whole number ≥ 2, got "${args[i + 1]}"`);
  const paper = JSON.parse(readFileSync(join(repoRoot(), 'topologies', 'paper-24.json'), 'utf8')) as TopologyDocument;
  const paperGrown = structuredClone(paper);
  paperGrown.nodes['nw1'] = { kind: 'switch', region: 'EDGE-NW1' };
  paperGrown.nodes['nw1h1'] = { kind: 'host', region: 'EDGE-NW1' };
  paperGrown.nodes['nw1h2'] = { kind: 'host', region: 'EDGE-NW1' };
  paperGrown.links.push({ switch: 'core2', peer: 'nw1' }, { switch: 'nw1', host: 'nw1h1', overlay_ip: '192.168.200.231' }, { switch: 'nw1', host: 'nw1h2', overlay_ip: '192.168.200.232' });
  paperGrown.containers['nw1c1'] = { mac: '02:00:00:00:0e:01', ip: '192.168.200.241', host: 'nw1h1' };

  const gen = generateTopology({ shape: 'regions', name: 'gen', switches: n, regionSize: 10, hostsPerRegion: 2 });
  const genGrown = structuredClone(gen);
  addRegion(genGrown, Math.ceil(n / 10), 10, 2);

  const rows = [await runCase('paper-24 + 1 region (3 nodes)', paper, paperGrown), await runCase(`${n} switches + 1 region (12 nodes)`, gen, genGrown)];
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`machine: ${describeMachine()}`);
  out('case                                  nodes        diff ms  switches touched  mods sent  reload→last barrier ms  longest stall ms | restart ms  restart mods');
  for (const r of rows) {
    out(`${r.case.padEnd(38)}${`${r.nodesBefore}→${r.nodesAfter}`.padEnd(13)}${r.diffMs.toFixed(2).padStart(7)}  ${String(r.switchesTouched).padStart(16)}  ${String(r.flowMods).padStart(9)}  ${r.reloadMs.toFixed(1).padStart(21)}  ${r.stallMs.toFixed(1).padStart(16)} | ${r.restartMs.toFixed(1).padStart(10)}  ${String(r.restartMods).padStart(12)}`);
  }
  out('longest stall: the longest the event loop was blocked during the reload (other switches\' echoes and packet-ins waited that long)');
}

main().catch((err: Error) => {
  process.stderr.write(`bench:reload: ${err.message}\n`);
  process.exit(1);
});
