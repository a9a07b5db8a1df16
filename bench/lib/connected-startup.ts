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
import { once, type EventEmitter } from 'node:events';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startApp, type RunningApp } from '../../controller/app.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { EmulatedSwitch, type EmulatedFlowTable, type EmulatedSwitchConfig } from './emulated-switch.js';
import type { SwitchWorkerData } from './switch-worker.js';
import { sleep } from './children.js';

/** Emulated hosts' spare ports: outside any topology's port plan, not reported (they carry no traffic here). */
const SPARE_EDGE_PORTS = [4000, 4001];

export interface ConnectedController {
  app: RunningApp;
  switches: EmulatedSwitch[];
  /** The switches start connecting → every one connected and its flows barrier-confirmed. */
  startupMs: number;
  /** Before that: the controller made and started (topology taken in, state file loaded, listening). */
  appStartMs: number;
  /** CPU time of this process meanwhile (controller and emulated switches: they share it). */
  startupCpuMs: number;
  /** FLOW_MODs the switches received by then. */
  startupFlowMods: number;
  /** Syncs by kind during the start-up (full computations, endpoint syncs, switches computed alone). */
  syncs: { full: number; endpoints: number; switches: number };
  /** Flows the switches hold (with keepFlows): every switch's together. */
  flowsHeld(): Promise<number>;
  /**
   * Stops this controller (the switches disconnect) and starts another on the same state file,
   * the same switches' tables connecting to it. Drop this object first: the old controller is
   * then garbage, not a second model in the new one's heap.
   */
  restart(): Promise<ConnectedController>;
  close(): Promise<void>;
}

/** One emulated switch per node of `topology` (not connected). */
export function emulatedSwitches(topology: ResolvedTopology, opts: StartOptions = {}, flows?: EmulatedFlowTable[]): EmulatedSwitch[] {
  return switchConfigs(topology, opts).map((c, index) => new EmulatedSwitch({ ...c, ...(flows ? { flows: flows[index]! } : {}) }));
}

function switchConfigs(topology: ResolvedTopology, opts: StartOptions): Omit<EmulatedSwitchConfig, 'flows'>[] {
  return Object.values(topology.nodes).map((node, index) => {
    const ports = node.bridge.ports.map((p) => ({ ofport: p.ofport, name: p.name }));
    for (const extra of opts.extraPorts?.(node.name) ?? []) if (!ports.some((p) => p.name === extra.name)) ports.push(extra);
    return { index, datapathId: BigInt(`0x${node.bridge.dpid}`), bridgeName: node.bridge.name, ports, edgePorts: SPARE_EDGE_PORTS, reportEdgePorts: false };
  });
}

interface StartOptions {
  extraPorts?: (node: string) => { ofport: number; name: string }[];
  keepFlows?: boolean;
  /**
   * The switches in a worker thread of their own (bench/lib/switch-worker.ts): the controller's
   * process then holds the controller alone, as with real switches (their tables out of its heap,
   * their work off its event loop). `switches` is empty then; CPU figures are the whole process's.
   * 'process': in a child process instead (the controller's RSS then its own; CPU figures its own).
   */
  switchesApart?: boolean | 'process';
  /** Called with the controller as soon as it listens (a watchdog, say). */
  onStarted?: (app: RunningApp, switches: EmulatedSwitch[]) => void;
}

export function startConnected(topology: ResolvedTopology, opts: StartOptions = {}): Promise<ConnectedController> {
  const dir = mkdtempSync(join(tmpdir(), 'vino-connected-'));
  if (!opts.switchesApart) return start(topology, opts, dir, new InProcessSwitches(topology, opts));
  const data: SwitchWorkerData = { configs: switchConfigs(topology, opts), keepFlows: opts.keepFlows === true };
  if (opts.switchesApart === 'process') {
    const child = fork(fileURLToPath(new URL('./switch-worker.js', import.meta.url)), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.send({ op: 'init', data });
    // Switches that die before they are ended fail the request waiting on them (once() rejects on
    // 'error'), rather than leave it waiting for an answer that will not come.
    let ending = false;
    child.on('exit', (code, signal) => {
      if (!ending) child.emit('error', new Error(`the emulated switches' process exited (${signal ?? code})`));
    });
    const end = async () => {
      ending = true;
      child.kill();
    };
    return start(topology, opts, dir, new ApartSwitches({ post: (m) => child.send(m), messages: child, end }));
  }
  const worker = new Worker(new URL('./switch-worker.js', import.meta.url), { workerData: data });
  return start(topology, opts, dir, new ApartSwitches({ post: (m) => worker.postMessage(m), messages: worker, end: async () => void (await worker.terminate()) }));
}

/** Where the emulated switches run: in this process, or in a worker thread. They keep their tables across a restart. */
interface SwitchSet {
  /**
   * Connects a new set of switches (on the same tables) to `port`; resolves once every one is
   * through its handshake. `onMade` gets them as soon as they exist (none in a worker: then once connected).
   */
  connect(port: number, timeoutMs: number, onMade?: (switches: EmulatedSwitch[]) => void): Promise<EmulatedSwitch[]>;
  counts(): Promise<{ flowMods: number; flowsHeld: number }>;
  /** Disconnects them (a restart connects them again). */
  disconnect(): Promise<void>;
  /** Disconnects them for good. */
  close(): Promise<void>;
}

class InProcessSwitches implements SwitchSet {
  private switches: EmulatedSwitch[] = [];
  private readonly flows: EmulatedFlowTable[] | undefined;

  constructor(private readonly topology: ResolvedTopology, private readonly opts: StartOptions) {
    this.flows = opts.keepFlows ? Object.keys(topology.nodes).map((): EmulatedFlowTable => new Map()) : undefined;
  }

  async connect(port: number, timeoutMs: number, onMade?: (switches: EmulatedSwitch[]) => void): Promise<EmulatedSwitch[]> {
    this.switches = emulatedSwitches(this.topology, this.opts, this.flows);
    onMade?.(this.switches);
    const deadline = performance.now() + timeoutMs;
    await Promise.all(this.switches.map((s) => s.connect('127.0.0.1', port, deadline)));
    await Promise.all(this.switches.map((s) => s.ready));
    return this.switches;
  }

  async counts(): Promise<{ flowMods: number; flowsHeld: number }> {
    return { flowMods: this.switches.reduce((n, s) => n + s.counters.flowMods, 0), flowsHeld: (this.flows ?? []).reduce((n, t) => n + t.size, 0) };
  }

  async disconnect(): Promise<void> {
    for (const s of this.switches) s.close();
  }

  close(): Promise<void> {
    return this.disconnect();
  }
}

/** The switches' worker thread or child process: what is sent to it, where its answers come, how it ends. */
interface SwitchesApart {
  post(m: object): void;
  messages: EventEmitter;
  end(): Promise<void>;
}

class ApartSwitches implements SwitchSet {
  constructor(private readonly apart: SwitchesApart) {}

  private async ask<T>(request: object, answer: string): Promise<T> {
    this.apart.post(request);
    for (;;) {
      const [m] = (await once(this.apart.messages, 'message')) as [{ op: string; message?: string }];
      if (m.op === 'error') throw new Error(`emulated switches (apart): ${m.message}`);
      if (m.op === answer) return m as T;
    }
  }

  async connect(port: number, timeoutMs: number, onMade?: (switches: EmulatedSwitch[]) => void): Promise<EmulatedSwitch[]> {
    await this.ask({ op: 'connect', host: '127.0.0.1', port, timeoutMs }, 'connected');
    onMade?.([]);
    return [];
  }

  counts(): Promise<{ flowMods: number; flowsHeld: number }> {
    return this.ask({ op: 'counts' }, 'counts');
  }

  async disconnect(): Promise<void> {
    await this.ask({ op: 'close' }, 'closed');
  }

  async close(): Promise<void> {
    await this.disconnect().catch(() => {});
    await this.apart.end();
  }
}

async function start(topology: ResolvedTopology, opts: StartOptions, dir: string, set: SwitchSet): Promise<ConnectedController> {
  // Dropped once a restart has stopped it: the controller that replaces it is on its own then,
  // as after a real restart (not sharing a heap with the old one's model).
  const appStarting = performance.now();
  let app: RunningApp | undefined = await startApp({
    topology, ofListen: [{ host: '127.0.0.1', port: 0 }], apiListen: null, logger: pino({ level: process.env.VINO_BENCH_LOG ?? 'silent' }, pino.destination(2)),
    stateFile: join(dir, 'state.json'),
  });
  const appStartMs = performance.now() - appStarting;
  const stop = async () => {
    await set.disconnect();
    await app?.stop();
  };
  const close = async () => {
    await set.close();
    await app?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const nodes = Object.values(topology.nodes);
    const before = { ...app!.controller.syncCounts };
    const cpu = process.cpuUsage();
    const connecting = performance.now();
    // A thousand switches with 100k containers take seconds to connect and sync.
    const timeoutMs = 30_000 + 100 * nodes.length;
    const deadline = connecting + timeoutMs;
    const switches = await set.connect(app.openflow[0]!.port, timeoutMs, (made) => opts.onStarted?.(app!, made));
    while (app!.controller.switchInfo().some((s) => !s.fallback && !s.connected)) {
      if (performance.now() > deadline) throw new Error(`${topology.name}: switches did not all connect`);
      await sleep(10);
    }
    await app!.controller.requestSync('bench settle');
    const startupMs = performance.now() - connecting;
    const used = process.cpuUsage(cpu);
    const after = app!.controller.syncCounts;
    return {
      app: app!, switches, startupMs, appStartMs, startupCpuMs: (used.user + used.system) / 1000,
      startupFlowMods: (await set.counts()).flowMods,
      syncs: { full: after.full - before.full, endpoints: after.endpoints - before.endpoints, switches: after.switches - before.switches },
      flowsHeld: async () => (await set.counts()).flowsHeld,
      restart: async () => {
        await stop();
        app = undefined;
        return start(topology, opts, dir, set);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
