/**
 * The controller started in this process with one emulated switch per topology node connecting
 * to it over loopback, all at once (a connect storm): how long until every switch is connected
 * and holds its flows, barrier-confirmed. The switches start with empty tables (a fresh start);
 * their flow_mods are counted. Used by bench:scale (start-up with switches connecting) and
 * bench:flip (which then moves a container back and forth). With `keepFlows` the switches keep
 * what they are sent, and `restart` starts a new controller on the same state file that the
 * same switches (their tables) connect to: a restart, with every table read back.
 * VINO_BENCH_LOG=info (or warn, debug) prints the controller's log on stderr.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startApp, type RunningApp } from '../../controller/app.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { EmulatedSwitch, type EmulatedFlowTable } from './emulated-switch.js';
import { sleep } from './children.js';

/** Emulated hosts' spare ports: outside any topology's port plan (they carry no traffic here). */
const SPARE_EDGE_PORTS = [4000, 4001];

export interface ConnectedController {
  app: RunningApp;
  switches: EmulatedSwitch[];
  /** The switches start connecting → every one connected and its flows barrier-confirmed. */
  startupMs: number;
  /** CPU time of this process meanwhile (controller and emulated switches: they share it). */
  startupCpuMs: number;
  /** FLOW_MODs the switches received by then. */
  startupFlowMods: number;
  /** Syncs by kind during the start-up (full computations, endpoint syncs, switches computed alone). */
  syncs: { full: number; endpoints: number; switches: number };
  /** Flows the switches hold (with keepFlows): every switch's together. */
  flowsHeld(): number;
  /** Stops this controller (the switches disconnect) and starts another on the same state file, the same switches' tables connecting to it. */
  restart(): Promise<ConnectedController>;
  close(): Promise<void>;
}

/** One emulated switch per node of `topology` (not connected). */
export function emulatedSwitches(topology: ResolvedTopology, opts: StartOptions = {}, flows?: EmulatedFlowTable[]): EmulatedSwitch[] {
  return Object.values(topology.nodes).map((node, index) => {
    const ports = node.bridge.ports.map((p) => ({ ofport: p.ofport, name: p.name }));
    for (const extra of opts.extraPorts?.(node.name) ?? []) if (!ports.some((p) => p.name === extra.name)) ports.push(extra);
    return new EmulatedSwitch({ index, datapathId: BigInt(`0x${node.bridge.dpid}`), bridgeName: node.bridge.name, ports, edgePorts: SPARE_EDGE_PORTS, ...(flows ? { flows: flows[index]! } : {}) });
  });
}

interface StartOptions {
  extraPorts?: (node: string) => { ofport: number; name: string }[];
  keepFlows?: boolean;
  /** Called with the controller as soon as it listens (a watchdog, say). */
  onStarted?: (app: RunningApp, switches: EmulatedSwitch[]) => void;
}

export function startConnected(topology: ResolvedTopology, opts: StartOptions = {}): Promise<ConnectedController> {
  return start(topology, opts, mkdtempSync(join(tmpdir(), 'vino-connected-')));
}

async function start(topology: ResolvedTopology, opts: StartOptions, dir: string, tables?: EmulatedFlowTable[]): Promise<ConnectedController> {
  const app = await startApp({
    topology, ofListen: [{ host: '127.0.0.1', port: 0 }], apiListen: null, logger: pino({ level: process.env.VINO_BENCH_LOG ?? 'silent' }, pino.destination(2)),
    stateFile: join(dir, 'state.json'),
  });
  const switches: EmulatedSwitch[] = [];
  const stop = async () => {
    for (const s of switches) s.close();
    await app.stop();
  };
  const close = async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const flows = tables ?? (opts.keepFlows ? Object.keys(topology.nodes).map((): EmulatedFlowTable => new Map()) : undefined);
  try {
    const nodes = Object.values(topology.nodes);
    switches.push(...emulatedSwitches(topology, opts, flows));
    opts.onStarted?.(app, switches);
    const before = { ...app.controller.syncCounts };
    const cpu = process.cpuUsage();
    const connecting = performance.now();
    // A thousand switches with 100k containers take seconds to connect and sync.
    const deadline = connecting + 30_000 + 100 * nodes.length;
    await Promise.all(switches.map((s) => s.connect('127.0.0.1', app.openflow[0]!.port, deadline)));
    await Promise.all(switches.map((s) => s.ready));
    while (app.controller.switchInfo().some((s) => !s.fallback && !s.connected)) {
      if (performance.now() > deadline) throw new Error(`${topology.name}: switches did not all connect`);
      await sleep(10);
    }
    await app.controller.requestSync('bench settle');
    const startupMs = performance.now() - connecting;
    const used = process.cpuUsage(cpu);
    const after = app.controller.syncCounts;
    return {
      app, switches, startupMs, startupCpuMs: (used.user + used.system) / 1000,
      startupFlowMods: switches.reduce((n, s) => n + s.counters.flowMods, 0),
      syncs: { full: after.full - before.full, endpoints: after.endpoints - before.endpoints, switches: after.switches - before.switches },
      flowsHeld: () => (flows ?? []).reduce((n, t) => n + t.size, 0),
      restart: async () => {
        await stop();
        return start(topology, opts, dir, flows);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
