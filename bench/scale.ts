/**
 * How vino's cost grows with the overlay: generated topologies (src/topology/generate.ts) of
 * 24..1,000 bridges and 1k..100k containers, each size measured in its own child process (a
 * clean heap for RSS, and a size that blows up is killed and reported as skipped).
 *
 *   npm run bench:scale [-- --bridges 24,100,300,1000 --containers 1000,10000,100000 --shapes tree,ring --timeout 120 --peers 8 --memory-only --no-connected]
 *
 * What one size measures, with the controller's own core functions (the same calls the shell
 * makes: desiredStateFor, diffInstalled / diffFlowChange, diffToMessages, encodeMessage):
 * - validate: analyzeTopology of the generated file with every container in it;
 * - start-up: the full computation of every switch's desired state plus the FLOW_MODs that
 *   bring empty switches to it, encoded as a session does and noted as installed (what the
 *   controller sends on start-up; no sockets, no switches: "synced" is all of it encoded), in
 *   wall time and in CPU time (which the machine's load does not inflate);
 * - flows per switch (max, mean);
 * - demand: every container has sent to `--peers` random others, so its host holds an ingress
 *   entry for each (start-up includes them: what a restart reads back);
 * - a migration from the first host to the farthest one, next to the old↔new path length and the
 *   mover's ingress entries: its prepare as the shell computes it (the sync of the migrations
 *   list: the mover's endpoint alone, whose entry changed; then the flip's plan, Controller.
 *   prepareMove: the two ends' bridges built afresh, the mover's flows at the new location and
 *   the ends' flood groups, with refreshBridges and contextChangeFlows), compute + diff + encode; its commit's flow_mods, bytes and switches;
 *   the commit's time through the endpoint path (median and slowest of 21 runs) and as a full
 *   recomputation (what the plan replaces);
 * - learning one new container, and one new ingress entry (the endpoint-only path of the shell);
 * - memory per container: the RSS (and the V8 heap) of what the controller keeps after start-up
 *   (location table, demand and departed sets, the forwarding context, every switch's installed
 *   index, the flow cache; not the desired states and diffs of the start-up, which it drops)
 *   minus the same in a child with 0 containers (same topology: the per-bridge tables do not
 *   count), divided by the containers. No emulated switch runs in the process;
 * - a sampled walk of frames through simulated switches loaded with the committed tables:
 *   every frame delivered once at its destination port, none looped (skipped when the tables
 *   are too big for the simulator's linear lookup);
 * - start-up with switches connecting (another child; not with --memory-only or --no-connected):
 *   the controller (startApp) and one emulated switch per node, the switches in a worker thread
 *   of the child (their tables out of the controller's heap and their work off its event loop,
 *   as with real switches), every switch connecting over loopback at once, from empty tables (a
 *   fresh start, so no ingress entries), until every switch is connected and its flows
 *   barrier-confirmed (bench/lib/connected-startup.ts); with the process's CPU time (controller
 *   and the switches' thread) and how many full computations the connect storm cost. Issue 13's
 *   goal: < 10 s at 1,000 switches.
 *   Then, once the containers have talked (ingress entries sent), a restart on the same state
 *   file with the switches holding every flow (read back and diffed); VINO_BENCH_RESTART_PROFILE=FILE
 *   writes a CPU profile of the restart alone;
 * - the running controller's memory per container (a third child): heap and RSS after a full GC
 *   once every switch is connected and synced (fresh start), the emulated switches' own share
 *   measured apart and taken off, minus the same with 0 containers: what bench:scale's core
 *   figure leaves out (the resolved topology's container records, the sessions' port lists, the
 *   shell's indexes) is in it.
 * Growth exponents: log(m2/m1) / log(n2/n1) between consecutive sizes of a series.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { generateTopology, type GeneratedShape } from '../src/topology/generate.js';
import { analyzeTopology } from '../src/topology/analyze.js';
import { analyzeTopologyText, resolveTopology } from '../src/topology/load.js';
import type { ResolvedTopology } from '../src/topology/types.js';
import { TopologyError } from '../src/topology/problems.js';
import { fabricFromTopology, refreshBridges } from '../controller/core/topology-fabric.js';
import {
  BridgeMacs, contextChangeFlows, desiredStateFor, OWN_GROUP_IDS, endpointChangeFlows, endpointFlowsOn, forwardingContext, FlowCache, migrationsByMac, withEntry, withMigrationChanges,
  type ForwardingContext, type MigrationInProgress,
} from '../controller/core/forwarding.js';
import { applyDiff, diffConfinedChange, diffFlowChange, diffInstalled, diffToMessages, indexInstalled, installedFlow, InstalledTables, type SwitchDiff } from '../controller/core/diff.js';
import type { Endpoint } from '../controller/core/fabric.js';
import type { SwitchState } from '../controller/core/flows.js';
import { LocationTable } from '../controller/core/locations.js';
import { encodeMessage, encodeMessageInto } from '../src/openflow/encode/index.js';
import { BufferWriter } from '../src/openflow/writer.js';
import { SimNetwork } from '../src/openflow-sim/network.js';
import { Prng } from './lib/prng.js';
import { startConnected, type ConnectedController } from './lib/connected-startup.js';
import { sleep } from './lib/children.js';

const OWN = { groupIds: OWN_GROUP_IDS, meterIds: new Set([1]) };
const EMPTY: SwitchState = { flows: [], groups: [], meters: [] };
const FIRST_CONTAINER_PORT = 4096;
/** The simulator looks flows up linearly: walks are skipped above this many flows per switch. */
const WALK_MAX_FLOWS_PER_SWITCH = 30_000;
const WALK_SAMPLES = 300;
const WALK_MISS_SAMPLES = 10;
const COMMIT_REPEATS = 21;
/** A session hands its socket what it encoded once this much is queued (session.ts). */
const SESSION_WRITE_BYTES = 256 * 1024;

interface SizeResult {
  shape: string;
  bridges: number;
  containers: number;
  switches?: number;
  validateMs?: number;
  validateProblems?: number;
  validateFirstProblem?: string;
  startupComputeMs?: number;
  startupEncodeMs?: number;
  /** CPU time of the start-up (compute + encode; all threads, GC included; not the full GCs that measure the heap in between): what load on the machine does not inflate. */
  startupCpuMs?: number;
  startupFlowMods?: number;
  startupBytes?: number;
  /** Start-up with every switch connecting over loopback (bench/lib/connected-startup.ts). */
  connectedStartupMs?: number;
  connectedCpuMs?: number;
  connectedFlowMods?: number;
  connectedFullComputations?: number;
  connectedSkipped?: string;
  /** A restart on the same state file with the switches holding their flows (ingress entries included). */
  restartMs?: number;
  /** Before each of the two: the controller made and started until it listens (topology taken in, state loaded). */
  connectedAppStartMs?: number;
  restartAppStartMs?: number;
  restartCpuMs?: number;
  restartFlowMods?: number;
  restartFlowsHeld?: number;
  restartFullComputations?: number;
  /** The restart's syncs by kind (full computations, endpoint syncs, switches computed alone). */
  restartSyncs?: { full: number; endpoints: number; switches: number };
  /** The running controller after a fresh connected start-up (its sessions, models and tables; the switches in a process of their own), after a full GC; and its RSS settled (see measureLiveMemory). */
  liveHeap?: number;
  liveRss?: number;
  liveRssSettled?: number;
  liveHeapPerContainer?: number;
  liveRssPerContainer?: number;
  liveRssSettledPerContainer?: number;
  liveSkipped?: string;
  /** How long the running controller was left to settle, and when V8 gave back the start-up's young generation (see measureLiveMemory). */
  liveSettledMs?: number;
  liveYoungReturnedMs?: number;
  liveBaseYoungReturnedMs?: number;
  flowsMax?: number;
  flowsMean?: number;
  pathLength?: number;
  /** The prepare's sync (the migrations list changed) and the flip's plan computed after it (medians of COMMIT_REPEATS), and the sum of their slowest runs. */
  prepareSyncMs?: number;
  preparePlanMs?: number;
  prepareMaxMs?: number;
  prepareFlowMods?: number;
  prepareBytes?: number;
  planFlowMods?: number;
  commitMs?: number;
  commitFlowMods?: number;
  commitBytes?: number;
  commitSwitches?: number;
  /** Median and slowest of COMMIT_REPEATS timed runs (after one untimed). */
  commitEndpointMs?: number;
  commitEndpointMaxMs?: number;
  commitEndpointFlowMods?: number;
  commitEndpointSwitches?: number;
  contextMs?: number;
  ingressEntries?: number;
  moverEntries?: number;
  transitMax?: number;
  entryMs?: number;
  entryFlowMods?: number;
  learnMs?: number;
  learnFlowMods?: number;
  rssMiB?: number;
  /** The retained RSS and heap (used + external) after start-up, for this size and for 0 containers. */
  keptRss?: number;
  keptHeap?: number;
  baseRss?: number;
  baseHeap?: number;
  bytesPerContainer?: number;
  heapPerContainer?: number;
  walk?: string;
  skipped?: string;
  /** Heap (used + external) each long-lived structure added, in bytes per container (see breakdown()). */
  breakdown?: Record<string, number>;
  /** Bytes the young generation occupies (committed) at the memory measurement, and in the child with 0 containers. */
  keptYoung?: number;
  baseYoung?: number;
}

// ---------------------------------------------------------------------------------------------
// One size (child process)

function now(): number {
  return performance.now();
}

function gc(): void {
  // Twice: the first full GC can leave garbage that only a finalised weak table releases.
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
}

function heapInUse(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function emit(partial: Partial<SizeResult>): void {
  process.stdout.write(`${JSON.stringify(partial)}\n`);
}

function diffCost(diffs: Iterable<SwitchDiff>): { flowMods: number; bytes: number; switches: number } {
  let flowMods = 0;
  let bytes = 0;
  let switches = 0;
  for (const d of diffs) {
    const msgs = diffToMessages(d);
    if (msgs.length > 0) switches++;
    for (const m of msgs) {
      if (m.type === 'FLOW_MOD') flowMods++;
      bytes += encodeMessage(m).length;
    }
  }
  return { flowMods, bytes, switches };
}

/** `run` once untimed, then COMMIT_REPEATS times timed: the median and the slowest, and the last result. */
function repeated<T>(run: () => T): { medianMs: number; maxMs: number; result: T } {
  let result = run();
  const times: number[] = [];
  for (let i = 0; i < COMMIT_REPEATS; i++) {
    const t = now();
    result = run();
    times.push(now() - t);
  }
  times.sort((x, y) => x - y);
  return { medianMs: times[times.length >> 1]!, maxMs: times[times.length - 1]!, result };
}

/** Ingress entries: every container has sent to `peers` others (random, seeded): its host demands their MACs. */
function demandOf(endpoints: readonly Endpoint[], peers: number): BridgeMacs {
  const demand = new BridgeMacs();
  const rng = new Prng(11);
  for (const e of endpoints) {
    for (let i = 0; i < peers && endpoints.length > 1; i++) {
      const d = endpoints[rng.below(endpoints.length)]!;
      if (d.at.bridge !== e.at.bridge) demand.add(e.at.bridge, d.mac);
    }
  }
  return demand;
}

/**
 * The start-up with switches connecting, in a child of its own (the controller and the switches'
 * sockets): from empty tables; then, once the containers have talked (the same demand as the
 * size's: its ingress entries sent, untimed), a restart: a new controller on the same state file,
 * the switches connecting with every flow they hold, read back and diffed.
 */
async function measureConnected(shape: GeneratedShape, bridges: number, containers: number, peers: number): Promise<void> {
  const topology = resolveTopology(generateTopology({ shape, bridges, containers }));
  let started: ConnectedController | undefined = await startConnected(topology, { keepFlows: true, switchesApart: true });
  emit({ connectedAppStartMs: started.appStartMs, connectedStartupMs: started.startupMs, connectedCpuMs: started.startupCpuMs, connectedFlowMods: started.startupFlowMods, connectedFullComputations: started.syncs.full });
  {
    const ctl = started.app.controller;
    for (const [bridge, mac] of demandOf(ctl.locations.endpoints(), peers).entries()) ctl.noteDemand(bridge, mac);
    await ctl.requestSync('bench: containers have talked');
  }
  const held = await started.flowsHeld();
  // The old controller is garbage once stopped (see restart): nothing here keeps it.
  const restarting = started.restart();
  started = undefined;
  // VINO_BENCH_RESTART_PROFILE=FILE: a CPU profile of the restart alone (the controller's thread).
  const profileTo = process.env.VINO_BENCH_RESTART_PROFILE;
  const profiler = profileTo ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  // VINO_BENCH_RESTART_HEAP_PROFILE=FILE: what the restart allocates, by function (V8's sampling
  // heap profiler, objects collected since included; open in Chrome DevTools).
  const heapTo = process.env.VINO_BENCH_RESTART_HEAP_PROFILE;
  const heapProfiler = heapTo ? new Session() : undefined;
  if (heapProfiler) {
    heapProfiler.connect();
    await heapProfiler.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
  }
  const restarted = await restarting;
  if (heapProfiler && heapTo) {
    writeFileSync(heapTo, JSON.stringify((await heapProfiler.post('HeapProfiler.stopSampling')).profile));
    heapProfiler.disconnect();
  }
  if (profiler && profileTo) {
    writeFileSync(profileTo, JSON.stringify((await profiler.post('Profiler.stop')).profile));
    profiler.disconnect();
  }
  emit({ restartAppStartMs: restarted.appStartMs, restartMs: restarted.startupMs, restartCpuMs: restarted.startupCpuMs, restartFlowMods: restarted.startupFlowMods, restartFlowsHeld: held, restartFullComputations: restarted.syncs.full, restartSyncs: restarted.syncs });
  await restarted.close();
}

/** Milliseconds between RSS readings while the running controller settles, and the most it is given. */
const SETTLE_STEP_MS = 1000;
const SETTLE_MAX_MS = 75_000;

/**
 * The memory of the controller running with its switches connected (fresh start, switches keeping
 * nothing; the switches in a child process of their own, as real switches are: this process is the
 * controller's alone): after a full GC right after the start-up, and settled.
 *
 * Settled: V8 keeps the young generation the start-up grew (32 MiB) until a scavenge finds the
 * allocation rate low, and only then gives it back; what it holds after that is what a controller
 * running for hours holds. With 1,000 switches (their keepalives allocate) that came 40-45 s after
 * the start-up (a 90 s log: RSS 358 → 306 MiB at 100k containers, 144 → 113 MiB at none; a forced
 * full or minor GC does not do it). Waited for (the heap's committed size falls by 5 %), then for
 * three readings in a row within 1 % of the lowest; at most SETTLE_MAX_MS.
 *
 * The topology comes as a file's text does (JSON, parsed and checked): its strings are what a
 * controller started with --topology keeps.
 */
async function measureLiveMemory(shape: GeneratedShape, bridges: number, containers: number): Promise<void> {
  const topology = topologyAsLoaded(shape, bridges, containers);
  // No other reference kept here: what stays is what the controller keeps (the resolved topology included).
  const started = await startConnected(topology, { switchesApart: 'process' });
  gc();
  const liveHeap = heapInUse();
  const liveRss = process.memoryUsage().rss;
  const committed = process.memoryUsage().heapTotal;
  let lowest = liveRss;
  let steady = 0;
  let returnedAtMs: number | undefined;
  let waited = 0;
  while (waited < SETTLE_MAX_MS && (returnedAtMs === undefined || steady < 3)) {
    await sleep(SETTLE_STEP_MS);
    waited += SETTLE_STEP_MS;
    const { rss, heapTotal } = process.memoryUsage();
    // Steady readings count from the return on (the pages may leave the RSS a moment later).
    if (returnedAtMs === undefined && heapTotal < committed * 0.95) {
      returnedAtMs = waited;
      steady = 0;
    }
    steady = rss > lowest * 0.99 ? steady + 1 : 0;
    lowest = Math.min(lowest, rss);
  }
  // VINO_BENCH_LIVE_HEAP_SNAPSHOT=FILE: what the running controller holds, object by object.
  const snapshotTo = process.env.VINO_BENCH_LIVE_HEAP_SNAPSHOT;
  if (snapshotTo) writeHeapSnapshot(snapshotTo);
  gc();
  emit({ liveHeap, liveRss, liveRssSettled: Math.min(lowest, process.memoryUsage().rss), liveSettledMs: waited, ...(returnedAtMs !== undefined ? { liveYoungReturnedMs: returnedAtMs } : {}) });
  await started.close();
}

/** A generated topology as the controller gets it from a file: JSON text, parsed and checked. */
function topologyAsLoaded(shape: GeneratedShape, bridges: number, containers: number): ResolvedTopology {
  const analysis = analyzeTopologyText(JSON.stringify(generateTopology({ shape, bridges, containers })));
  if (!analysis.topology) throw new TopologyError(analysis.problems);
  return analysis.topology;
}

async function measureSize(shape: GeneratedShape, bridges: number, containers: number, peers: number, memoryOnly: boolean): Promise<void> {
  // What each long-lived structure adds to the heap, after a full GC: the breakdown per container.
  const breakdown: Record<string, number> = {};
  let mark = 0;
  // The CPU the measuring itself takes (full GCs of the whole heap): not start-up work.
  let measuringCpuMs = 0;
  const measure = (what?: string) => {
    const cpuAt = process.cpuUsage();
    gc();
    const h = heapInUse();
    if (what !== undefined && containers > 0) breakdown[what] = (h - mark) / containers;
    mark = h;
    const spent = process.cpuUsage(cpuAt);
    measuringCpuMs += (spent.user + spent.system) / 1000;
  };
  let file: ReturnType<typeof generateTopology> | undefined = generateTopology({ shape, bridges, containers });
  const topology = resolveTopology({ ...file, containers: {} });
  const names = Object.keys(topology.nodes);
  const hosts = names.filter((n) => topology.nodes[n]!.kind === 'host');
  emit({ switches: names.length - hosts.length });
  // The containers in the file's order (the location table lists by name): the same demand and
  // mover as ever. The file itself is not controller state: dropped before memory is measured
  // and generated again for the validation at the end.
  const order = Object.keys(file.containers ?? {});

  // Containers as the controller records them (its location table: the long-lived copy), a port
  // per container on its host; the endpoint list is made from it per computation, as the shell does.
  measure();
  const locations = new LocationTable();
  const located = new Map<string, number[]>(hosts.map((h) => [h, []]));
  for (const [name, c] of Object.entries(file.containers ?? {})) {
    const ports = located.get(c.host)!;
    const ofport = FIRST_CONTAINER_PORT + ports.length;
    ports.push(ofport);
    locations.set({ name, mac: c.mac, ip: c.ip, node: c.host, ofport, source: 'api', since: 0 });
  }
  const fabric = fabricFromTopology(topology, new Map(), located);
  measure('locations and edge ports');
  const listEndpoints = (): Endpoint[] => order.map((name) => {
    const l = locations.get(name)!;
    return { name, mac: l.mac, ip: l.ip!, at: { bridge: l.node, ofport: l.ofport } };
  });
  let endpoints = listEndpoints();
  const demand = demandOf(endpoints, peers);
  const departed = new BridgeMacs();
  emit({ ingressEntries: demand.size });
  endpoints = [];
  measure('demand set');
  endpoints = listEndpoints();

  const cpuStarted = process.cpuUsage();
  const measuringBefore = measuringCpuMs;
  let t = now();
  const cache = new FlowCache();
  const ctx = forwardingContext({ fabric, demand, departed });
  const contextMs = now() - t;
  endpoints = [];
  measure('forwarding context (per bridge: paths, labels)');
  endpoints = listEndpoints();
  t = now() - contextMs;
  let desired: Map<string, SwitchState> | undefined = desiredStateFor(ctx, endpoints, cache);
  const startupComputeMs = now() - t;
  let flowsMax = 0;
  let flowsTotal = 0;
  let transitMax = 0;
  for (const [name, s] of desired) {
    flowsMax = Math.max(flowsMax, s.flows.length);
    flowsTotal += s.flows.length;
    if (topology.nodes[name]!.kind !== 'host') transitMax = Math.max(transitMax, s.flows.length);
  }
  emit({ startupComputeMs, flowsMax, flowsMean: flowsTotal / desired.size, transitMax });
  endpoints = [];
  const desiredKept = desired;
  desired = undefined;
  measure('flows, flow cache and keys');
  desired = desiredKept;

  t = now();
  // As the shell keeps them: one InstalledTables (the switches share its MAC slots).
  const installed = new InstalledTables();
  let startupFlowMods = 0;
  let startupBytes = 0;
  // Encoded as a session does: into one writer, handed to the socket in SESSION_WRITE_BYTES parts.
  const writer = new BufferWriter(SESSION_WRITE_BYTES + 4096);
  const handOver = () => {
    startupBytes += writer.toBuffer().length;
    writer.reset();
  };
  for (const [name, state] of desired) {
    const inst = installed.index(name, EMPTY);
    const d = diffInstalled(state, inst, OWN);
    for (const m of diffToMessages(d)) {
      if (m.type === 'FLOW_MOD') startupFlowMods++;
      encodeMessageInto(writer, m);
      if (writer.pos >= SESSION_WRITE_BYTES) handOver();
    }
    handOver();
    applyDiff(inst, d);
  }
  // As the shell does once no sync is waiting: the MAC runs grown in place trimmed.
  installed.compact();
  const cpu = process.cpuUsage(cpuStarted);
  emit({ startupEncodeMs: now() - t, startupFlowMods, startupBytes, startupCpuMs: (cpu.user + cpu.system) / 1000 - (measuringCpuMs - measuringBefore) });

  // What the controller keeps once started: the start-up's desired states, diffs and endpoint
  // list were temporaries.
  desired = undefined;
  measure('installed indexes');
  file = undefined;
  measure('(generated file, dropped: not counted)');
  // The young generation grows under the start-up's allocation and stays grown after a full GC:
  // part of the RSS, none of it live data.
  const keptYoung = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0;
  emit({ keptRss: process.memoryUsage().rss, keptHeap: heapInUse(), keptYoung, ...(containers > 0 ? { breakdown } : {}) });
  if (containers === 0 || memoryOnly) return;
  endpoints = listEndpoints();

  // A migration of the first container to the farthest host.
  const mover = endpoints[0]!;
  const target = hosts.reduce((best, h) => ((ctx.paths.distance(h, mover.at.bridge) ?? -1) > (ctx.paths.distance(best, mover.at.bridge) ?? -1) ? h : best), hosts[0]!);
  const newPort = FIRST_CONTAINER_PORT + located.get(target)!.length;
  const migration: MigrationInProgress = { name: mover.name, mac: mover.mac, from: mover.at, to: { bridge: target, ofport: newPort } };
  // After the move its old port holds no location, its new one does: the two ends' bridges
  // built afresh, as the shell's plan does (refreshBridges).
  const moveEnds = [mover.at.bridge, target];
  const locatedMoved = new Map(moveEnds.map((h) => [h, located.get(h)!.filter((p) => h !== mover.at.bridge || p !== mover.at.ofport).concat(h === target ? [newPort] : [])]));
  const fabricMoved = refreshBridges(fabric, topology, new Map(), locatedMoved, moveEnds);
  emit({ moverEntries: [...(demand.bridgesOf(mover.mac) ?? [])].length });

  // Prepare as the shell does it: the sync of the migrations list (the endpoint-only path: the
  // mover's flows before and after its entry), then the flip's plan (Controller.prepareMove).
  const endpointOfMac = (mac: string): Endpoint | undefined => {
    const l = locations.byMac(mac);
    return l && { name: l.name, mac: l.mac, ...(l.ip ? { ip: l.ip } : {}), at: { bridge: l.node, ofport: l.ofport } };
  };
  const confinedDiffs = (from: ForwardingContext, to: ForwardingContext, changes: Parameters<typeof contextChangeFlows>[2]) =>
    [...contextChangeFlows(from, to, withMigrationChanges(from, to, changes, endpointOfMac))].map(([name, c]) => [name, diffConfinedChange(c, installed.get(name)!, OWN)] as const);
  // Both pure and cheap, as the commit's below: the median and slowest of COMMIT_REPEATS runs.
  const ctxPrepared: ForwardingContext = { ...ctx, migrations: migrationsByMac([migration]) };
  const prepareSync = () => {
    const diffs = confinedDiffs(ctx, ctxPrepared, []);
    return { diffs, cost: diffCost(diffs.map(([, d]) => d)) };
  };
  const sync = repeated(prepareSync);
  for (const [name, d] of sync.result.diffs) applyDiff(installed.get(name)!, d);
  // The plan: after the move, its new port holds a location (the new edge's flood group) and the
  // old edge holds entries for it (views: the live sets get them when the move is applied).
  const moved: Endpoint = { ...mover, at: { bridge: target, ofport: newPort } };
  const plan = repeated(() => {
    const fabricPlanned = refreshBridges(fabric, topology, new Map(), locatedMoved, moveEnds);
    const ctxPlanned: ForwardingContext = {
      ...ctxPrepared, fabric: fabricPlanned, bridges: [...fabricPlanned.bridges.keys()], migrations: migrationsByMac([]),
      demand: withEntry(demand, mover.at.bridge, mover.mac), departed: withEntry(departed, mover.at.bridge, mover.mac),
    };
    return diffCost(confinedDiffs(ctxPrepared, ctxPlanned, [{ before: mover, after: moved }]).map(([, d]) => d));
  });
  emit({
    pathLength: (ctx.paths.distance(mover.at.bridge, target) ?? 0) + 1, prepareSyncMs: sync.medianMs, preparePlanMs: plan.medianMs, prepareMaxMs: sync.maxMs + plan.maxMs,
    prepareFlowMods: sync.result.cost.flowMods, prepareBytes: sync.result.cost.bytes, planFlowMods: plan.result.flowMods,
  });

  // The commit's entries, as the shell notes them on the move: the old edge relabels and keeps an entry.
  demand.add(mover.at.bridge, mover.mac);
  departed.add(mover.at.bridge, mover.mac);
  const after = [moved, ...endpoints.slice(1)];

  // The commit through the endpoint path (a prepared move sends what was computed so; a learned
  // move computes it so): only the mover's flows, on the bridges they concern.
  t = now();
  const ctxCommitted = forwardingContext({ fabric: fabricMoved, demand, departed });
  const ctxSetup = now() - t;
  // Pure and cheap (a few dozen flows): timed over COMMIT_REPEATS runs with the same inputs, the
  // median and the slowest reported. One run alone was anything from 2 to 11 ms on the same code,
  // depending on where a GC step of the 300+ MB heap fell.
  const commitOnce = () => {
    const change = endpointChangeFlows({ ...ctxPrepared, demand, departed }, [{ before: mover }]);
    const changeAfter = endpointChangeFlows(ctxCommitted, [{ after: moved }]);
    const endpointDiffs: SwitchDiff[] = [];
    for (const b of new Set([...change.keys(), ...changeAfter.keys()])) {
      endpointDiffs.push(diffFlowChange(change.get(b)?.before ?? [], changeAfter.get(b)?.after ?? [], installed.get(b)!));
    }
    return diffCost(endpointDiffs);
  };
  const commitTimes: number[] = [];
  let endpointCommitCost = commitOnce();
  for (let i = 0; i < COMMIT_REPEATS; i++) {
    t = now();
    endpointCommitCost = commitOnce();
    commitTimes.push(now() - t);
  }
  commitTimes.sort((x, y) => x - y);
  emit({ commitEndpointMs: commitTimes[commitTimes.length >> 1], commitEndpointMaxMs: commitTimes[commitTimes.length - 1], commitEndpointFlowMods: endpointCommitCost.flowMods, commitEndpointSwitches: endpointCommitCost.switches, contextMs: ctxSetup });

  // The same commit as a full recomputation (what the shell's prepareMove computed ahead before
  // it took the mover's flows alone: the plan's flow_mods must be these).
  t = now();
  const committed = desiredStateFor(ctxCommitted, after, cache);
  const commitDiffs = [...committed].map(([name, s]) => diffInstalled(s, installed.get(name)!, OWN));
  const commitCost = diffCost(commitDiffs);
  const commitMs = now() - t;
  [...committed.keys()].forEach((name, i) => applyDiff(installed.get(name)!, commitDiffs[i]!));
  emit({ commitMs, commitFlowMods: commitCost.flowMods, commitBytes: commitCost.bytes, commitSwitches: commitCost.switches });

  // Learning one new container, and one new ingress entry: the shell's endpoint-only path.
  t = now();
  const newcomer: Endpoint = { name: 'newcomer', mac: '06:00:00:00:00:01', ip: '10.15.255.250', at: { bridge: target, ofport: newPort + 1 } };
  const learnDiffs = [...endpointChangeFlows(ctxCommitted, [{ after: newcomer }])].map(([b, f]) => diffFlowChange(f.before, f.after, installed.get(b)!));
  const learnCost = diffCost(learnDiffs);
  emit({ learnMs: now() - t, learnFlowMods: learnCost.flowMods });
  t = now();
  const asker = hosts.find((h) => h !== target && !demand.has(h, moved.mac))!;
  demand.add(asker, moved.mac);
  const entry = endpointFlowsOn(ctxCommitted, moved, asker).filter((f) => installedFlow(installed.get(asker)!, f) === undefined);
  const entryCost = diffCost([diffFlowChange([], entry, installed.get(asker)!)]);
  emit({ entryMs: now() - t, entryFlowMods: entryCost.flowMods });

  gc();
  emit({ rssMiB: process.memoryUsage().rss / 2 ** 20 });

  emit({ walk: sampledWalk(committed, topology.links, after, demand, flowsMax) });

  // Last: validation of the whole file, containers included (slow or refused at large sizes).
  t = now();
  const analysis = analyzeTopology(generateTopology({ shape, bridges, containers }));
  emit({ validateMs: now() - t, validateProblems: analysis.problems.length, ...(analysis.problems[0] ? { validateFirstProblem: `${analysis.problems[0].path}: ${analysis.problems[0].message}` } : {}) });
}

/**
 * Loads `state` into simulated switches and walks sampled frames between containers: from a
 * host that holds an ingress entry for the destination, delivered once at its port and nowhere
 * else; from one that does not (a miss), delivered once at its port (flooded) and reported to
 * the controller once. None may loop.
 */
function sampledWalk(state: Map<string, SwitchState>, links: ReturnType<typeof resolveTopology>['links'], endpoints: Endpoint[], demand: BridgeMacs, flowsMax: number): string {
  if (flowsMax > WALK_MAX_FLOWS_PER_SWITCH) return `skipped: ${flowsMax} flows on a switch (simulator lookup is linear; limit ${WALK_MAX_FLOWS_PER_SWITCH})`;
  const net = new SimNetwork();
  for (const [name, s] of state) {
    const sw = net.addSwitch(name);
    // The desired flows have distinct keys: loaded as they are (the simulator's ADD is a linear
    // replace, quadratic for whole tables); groups go through GROUP_MOD.
    sw.flows = s.flows.map((f) => ({ tableId: f.tableId, priority: f.priority, match: f.match, instructions: f.instructions, cookie: f.cookie }));
    for (const msg of diffToMessages(diffInstalled({ ...s, flows: [] }, indexInstalled(EMPTY), OWN))) {
      const err = sw.apply(msg);
      if (err) return `FAILED: ${name} refused a message: ${err}`;
    }
  }
  for (const l of links) net.link(l.a.node, l.a.ofport, l.b.node, l.b.ofport);
  const rng = new Prng(13);
  let entries = 0;
  let misses = 0;
  // The migrated container (first) is always among the destinations; misses flood every edge
  // port, so fewer of them are walked.
  for (let i = 0; i < WALK_SAMPLES; i++) {
    const src = endpoints[rng.below(endpoints.length)]!;
    const dst = i === 0 ? endpoints[0]! : endpoints[rng.below(endpoints.length)]!;
    if (src === dst) continue;
    const hit = src.at.bridge === dst.at.bridge || demand.has(src.at.bridge, dst.mac);
    if (!hit && misses >= WALK_MISS_SAMPLES) continue;
    const r = net.walk(src.at.bridge, src.at.ofport, { eth_src: src.mac, eth_dst: dst.mac, eth_type: 0x0800, ipv4_src: src.ip!, ipv4_dst: dst.ip! }, 256);
    const where = r.delivered.map((d) => `${d.switch}:${d.port}`);
    const at = `${dst.at.bridge}:${dst.at.ofport}`;
    if (r.looped) return `FAILED: ${src.name}→${dst.name} looped`;
    if (where.filter((x) => x === at).length !== 1 || r.delivered.some((d) => d.frame.vlan_vid !== undefined)) return `FAILED: ${src.name}→${dst.name} delivered at [${where.slice(0, 5).join(', ')}…]`;
    if (hit && where.length !== 1) return `FAILED: ${src.name}→${dst.name} (entry) delivered at [${where.slice(0, 5).join(', ')}…]`;
    if (!hit && r.toController.length !== 1) return `FAILED: ${src.name}→${dst.name} (miss) reported ${r.toController.length} times`;
    if (hit) entries++;
    else misses++;
  }
  return `ok: ${entries} frames through ingress entries delivered once, ${misses} misses flooded and reported once, none looped`;
}

// ---------------------------------------------------------------------------------------------
// The run (parent)

function listArg(args: string[], flag: string, fallback: string): string[] {
  const i = args.indexOf(flag);
  const text = i >= 0 ? args[i + 1] : fallback;
  if (!text) throw new Error(`${flag}: expected a comma-separated list`);
  return text.split(',');
}

function numbers(list: string[], flag: string): number[] {
  return list.map((x) => {
    const n = Number(x);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag}: "${x}" is not a positive integer`);
    return n;
  });
}

function runChild(shape: string, bridges: number, containers: number, peers: number, timeoutSec: number, heapMiB: number, memoryOnly: boolean, mode: '--child' | '--child-connected' | '--child-live-memory' = '--child'): Promise<SizeResult> {
  const result: SizeResult = { shape, bridges, containers };
  const started = now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, '--expose-gc', fileURLToPath(import.meta.url), mode, shape, String(bridges), String(containers), String(peers), String(memoryOnly)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      result.skipped = `skipped: took > ${timeoutSec} s`;
      child.kill('SIGKILL');
    }, timeoutSec * 1000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      let nl;
      while ((nl = out.indexOf('\n')) >= 0) {
        Object.assign(result, JSON.parse(out.slice(0, nl)) as Partial<SizeResult>);
        out = out.slice(nl + 1);
      }
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (!result.skipped && code !== 0) {
        const heap = /heap out of memory|Allocation failed/.test(err);
        result.skipped = heap ? `skipped: heap > ${heapMiB} MiB after ${((now() - started) / 1000).toFixed(0)} s` : `failed (${signal ?? code}): ${err.trim().split('\n').slice(-3).join(' | ')}`;
      }
      resolve(result);
    });
  });
}

const fmt = (x: number | undefined, digits = 0) => (x === undefined ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function exponent(a: number | undefined, b: number | undefined, n1: number, n2: number): string {
  if (a === undefined || b === undefined || a <= 0 || b <= 0) return '–';
  return (Math.log(b / a) / Math.log(n2 / n1)).toFixed(2);
}

function printTable(title: string, rows: SizeResult[], key: 'bridges' | 'containers'): void {
  console.log(`\n${title}`);
  const head = ['bridges', 'containers', 'ingress entries', 'start-up ms (compute+encode; CPU ms)', 'start-up flow_mods', 'start-up, switches connecting ms (CPU ms; flow_mods; full computations; before: controller start to listening ms)', 'restart, switches holding their flows ms (CPU ms; flows held; flow_mods; full computations; before: controller start with the state file to listening ms)', 'controller running with its switches, B/container heap / RSS (settled)', 'flows/switch max', 'mean', 'transit max',
    'path len', 'mover entries', 'commit flow_mods', 'commit KiB', 'switches touched', 'commit ms (full)', 'commit ms (endpoint path, median / max of 21)', 'prepare ms (sync + plan = compute, medians of 21; slowest)', 'its flow_mods (switches)', 'prepare flow_mods', 'plan flow_mods', 'learn ms', 'entry ms', 'RSS MiB', 'B/container (RSS)', 'heap B/container',
    `exp start-up`, 'exp flows max', 'exp commit flow_mods', 'exp commit ms', 'exp B/ctr'];
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  rows.forEach((r, i) => {
    const p = rows[i - 1];
    const startup = r.startupComputeMs !== undefined && r.startupEncodeMs !== undefined ? r.startupComputeMs + r.startupEncodeMs : undefined;
    const pStartup = p && p.startupComputeMs !== undefined && p.startupEncodeMs !== undefined ? p.startupComputeMs + p.startupEncodeMs : undefined;
    const exp = (f: (x: SizeResult) => number | undefined, sp?: number, sr?: number) => (p ? exponent(sp ?? f(p), sr ?? f(r), p[key], r[key]) : '–');
    const cells = [fmt(r.bridges), fmt(r.containers), fmt(r.ingressEntries), `${fmt(startup)} (${fmt(r.startupCpuMs)})`, fmt(r.startupFlowMods),
      r.connectedStartupMs === undefined ? (r.connectedSkipped ?? '–') : `${fmt(r.connectedStartupMs)} (${fmt(r.connectedCpuMs)}; ${fmt(r.connectedFlowMods)}; ${fmt(r.connectedFullComputations)}; ${fmt(r.connectedAppStartMs)})`,
      r.restartMs === undefined ? '–' : `${fmt(r.restartMs)} (${fmt(r.restartCpuMs)}; ${fmt(r.restartFlowsHeld)}; ${fmt(r.restartFlowMods)}; ${fmt(r.restartFullComputations)}; ${fmt(r.restartAppStartMs)})`,
      r.liveSkipped ?? `${fmt(r.liveHeapPerContainer)} / ${fmt(r.liveRssPerContainer)} (${fmt(r.liveRssSettledPerContainer)})`, fmt(r.flowsMax), fmt(r.flowsMean), fmt(r.transitMax),
      fmt(r.pathLength), fmt(r.moverEntries), fmt(r.commitFlowMods), fmt(r.commitBytes === undefined ? undefined : r.commitBytes / 1024, 1), fmt(r.commitSwitches), fmt(r.commitMs, 1), `${fmt(r.commitEndpointMs, 2)} / ${fmt(r.commitEndpointMaxMs, 2)}`,
      r.prepareSyncMs === undefined || r.preparePlanMs === undefined ? '–' : `${fmt(r.prepareSyncMs, 2)} + ${fmt(r.preparePlanMs, 2)} = ${fmt(r.prepareSyncMs + r.preparePlanMs, 2)}; ${fmt(r.prepareMaxMs, 2)}`,
      `${fmt(r.commitEndpointFlowMods)} (${fmt(r.commitEndpointSwitches)})`,
      fmt(r.prepareFlowMods), fmt(r.planFlowMods), fmt(r.learnMs, 2), fmt(r.entryMs, 2), fmt(r.rssMiB), fmt(r.bytesPerContainer), fmt(r.heapPerContainer),
      exp(() => undefined, pStartup, startup), exp((x) => x.flowsMax), exp((x) => x.commitFlowMods), exp((x) => x.commitMs), exp((x) => x.bytesPerContainer)];
    console.log(`| ${cells.join(' | ')} |`);
    const notes = [r.skipped, r.walk && `walk ${r.walk}`,
      r.breakdown && `heap B/container by structure: ${Object.entries(r.breakdown).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`,
      r.keptYoung !== undefined && r.baseYoung !== undefined && `of the RSS per container, ${fmt((r.keptYoung - r.baseYoung) / r.containers)} B is the young generation grown by the start-up (${fmt(r.keptYoung / 2 ** 20)} MiB vs ${fmt(r.baseYoung / 2 ** 20)} MiB at 0 containers)`,
      r.liveSettledMs !== undefined && `running controller settled after ${fmt(r.liveSettledMs / 1000)} s (young generation given back ${r.liveYoungReturnedMs === undefined ? 'not within the wait' : `after ${fmt(r.liveYoungReturnedMs / 1000)} s`}; at 0 containers ${r.liveBaseYoungReturnedMs === undefined ? 'not within the wait' : `after ${fmt(r.liveBaseYoungReturnedMs / 1000)} s`})`,
      r.validateMs !== undefined && `validate ${fmt(r.validateMs)} ms, ${r.validateProblems} problems${r.validateFirstProblem ? ` (first: ${r.validateFirstProblem})` : ''}`].filter(Boolean);
    if (notes.length) console.log(`|   ${r.bridges}/${r.containers}: ${notes.join('; ')} |`);
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    await measureSize(args[1] as GeneratedShape, Number(args[2]), Number(args[3]), Number(args[4]), args[5] === 'true');
    return;
  }
  if (args[0] === '--child-live-memory') {
    await measureLiveMemory(args[1] as GeneratedShape, Number(args[2]), Number(args[3]));
    process.exit(0);
  }
  if (args[0] === '--child-connected') {
    await measureConnected(args[1] as GeneratedShape, Number(args[2]), Number(args[3]), Number(args[4]));
    // The app's timers and sockets are closed; exit rather than wait for stragglers.
    process.exit(0);
  }
  const shapes = listArg(args, '--shapes', 'tree,ring');
  const sizes = numbers(listArg(args, '--bridges', '24,100,300,1000'), '--bridges');
  const counts = numbers(listArg(args, '--containers', '1000,10000,100000'), '--containers');
  const timeoutSec = numbers(listArg(args, '--timeout', '120'), '--timeout')[0]!;
  const heapMiB = numbers(listArg(args, '--heap', '4096'), '--heap')[0]!;
  const peers = numbers(listArg(args, '--peers', '8'), '--peers')[0]!;
  // Start-up and memory only: no migration, learning, walk or validation.
  const memoryOnly = args.includes('--memory-only');
  const connected = !memoryOnly && !args.includes('--no-connected');
  for (const s of shapes) if (s !== 'tree' && s !== 'ring') throw new Error(`--shapes: "${s}" is not tree or ring`);
  console.log(`bench:scale  load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}  timeout ${timeoutSec} s/size, heap ${heapMiB} MiB, ${peers} peers per container (ingress entries)`);
  const all: SizeResult[] = [];
  // What is not per container: the same child with 0 containers on the same topology (the core
  // structures, or the running controller with its switches connected), once per mode and size.
  const baselines = new Map<string, SizeResult>();
  const baselineOf = async (mode: '--child' | '--child-live-memory', shape: string, bridges: number): Promise<SizeResult> => {
    const key = `${mode} ${shape}/${bridges}`;
    let b = baselines.get(key);
    if (!b) baselines.set(key, (b = await runChild(shape, bridges, 0, peers, timeoutSec, heapMiB, memoryOnly, mode)));
    return b;
  };
  for (const shape of shapes) {
    for (const containers of counts) {
      const rows: SizeResult[] = [];
      for (const bridges of sizes) {
        // A size larger than one that was skipped (in bridges or containers) is skipped unrun.
        const smaller = all.find((x) => x.shape === shape && x.skipped && x.bridges <= bridges && x.containers <= containers);
        const r = smaller ? { shape, bridges, containers, skipped: `skipped: ${smaller.bridges}/${smaller.containers} was (${smaller.skipped})` } : await runChild(shape, bridges, containers, peers, timeoutSec, heapMiB, memoryOnly);
        if (r.keptRss !== undefined && r.keptHeap !== undefined) {
          const base = await baselineOf('--child', shape, bridges);
          if (base.keptRss !== undefined && base.keptHeap !== undefined) {
            Object.assign(r, { baseRss: base.keptRss, baseHeap: base.keptHeap, baseYoung: base.keptYoung, bytesPerContainer: (r.keptRss - base.keptRss) / containers, heapPerContainer: (r.keptHeap - base.keptHeap) / containers });
          }
        }
        if (connected && !r.skipped) {
          const c = await runChild(shape, bridges, containers, peers, timeoutSec, heapMiB, memoryOnly, '--child-connected');
          if (c.skipped) r.connectedSkipped = c.skipped;
          else {
            Object.assign(r, { connectedAppStartMs: c.connectedAppStartMs, restartAppStartMs: c.restartAppStartMs, connectedStartupMs: c.connectedStartupMs, connectedCpuMs: c.connectedCpuMs, connectedFlowMods: c.connectedFlowMods, connectedFullComputations: c.connectedFullComputations });
            Object.assign(r, { restartMs: c.restartMs, restartCpuMs: c.restartCpuMs, restartFlowMods: c.restartFlowMods, restartFlowsHeld: c.restartFlowsHeld, restartFullComputations: c.restartFullComputations });
          }
          const live = await runChild(shape, bridges, containers, peers, timeoutSec, heapMiB, memoryOnly, '--child-live-memory');
          if (live.skipped) r.liveSkipped = live.skipped;
          const liveBase = await baselineOf('--child-live-memory', shape, bridges);
          if (live.liveHeap !== undefined && live.liveRss !== undefined && live.liveRssSettled !== undefined && liveBase.liveHeap !== undefined && liveBase.liveRss !== undefined && liveBase.liveRssSettled !== undefined) {
            Object.assign(r, {
              liveHeap: live.liveHeap, liveRss: live.liveRss, liveRssSettled: live.liveRssSettled,
              liveHeapPerContainer: (live.liveHeap - liveBase.liveHeap) / containers, liveRssPerContainer: (live.liveRss - liveBase.liveRss) / containers,
              liveRssSettledPerContainer: (live.liveRssSettled - liveBase.liveRssSettled) / containers,
              liveSettledMs: live.liveSettledMs, liveYoungReturnedMs: live.liveYoungReturnedMs, liveBaseYoungReturnedMs: liveBase.liveYoungReturnedMs,
            });
          }
        }
        rows.push(r);
        all.push(r);
        process.stderr.write(`  ${shape} ${bridges} bridges ${containers} containers: ${r.skipped ?? 'done'}\n`);
      }
      printTable(`${shape}, ${fmt(containers)} containers (exponents vs bridges)`, rows, 'bridges');
    }
    const largest = sizes[sizes.length - 1]!;
    printTable(`${shape}, ${fmt(largest)} bridges (exponents vs containers)`, all.filter((r) => r.shape === shape && r.bridges === largest), 'containers');
  }
  console.log(`\nload average at the end ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
