/**
 * The controller's own cost of a migration flip (`npm run bench:flip [-- OPTIONS]`): vino runs in
 * this process against emulated switches that answer every barrier at once (bench/lib/
 * emulated-switch.ts over loopback TCP), so commit → last barrier reply is what the controller
 * itself spends: recomputation, encoding, writes, the stage-by-stage barrier round trips.
 * The real-OVS figure is `npm run bench:migration` (flip table).
 *
 * Per topology, a container is moved back and forth between its host and the host farthest from
 * it (prepare, then commit timed). Peers in the same run: the same flip with the post-flip state
 * computed on the commit path (`--precompute off`, how the first round did it) against the
 * flip prepared ahead (`on`), so the ratio holds whatever the machine's load.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { loadTopology, resolveTopology } from '../src/topology/load.js';
import { generateTopology } from '../src/topology/generate.js';
import type { ResolvedTopology } from '../src/topology/types.js';
import { startConnected } from './lib/connected-startup.js';
import { median, quantile } from './lib/children.js';
import { formatProfile } from './lib/cpu-profile.js';
import { describeMachine } from './lib/timing.js';
import { pickFlipCase } from './migration/flip.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Goals of issue 11 for the controller's own cost, by switch count; a first-frame commit (under load) has its own. */
const GOAL_MS: Record<string, number> = { 'line-3': 1, 'paper-24': 5, // issue 11
  // Issue 13: a migration's compute + send at 1,000 switches / 100k containers.
  'tree-1000-100000': 5, 'ring-1000-100000': 5 };
const FIRST_FRAME_GOAL_MS = 10;

const { values } = parseArgs({
  options: {
    topologies: { type: 'string', default: 'line-3,paper-24' },
    runs: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '10' },
    variants: { type: 'string', default: 'precomputed,on-commit,first-frame' },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(`Usage: npm run bench:flip [-- OPTIONS]
  --topologies LIST   topology files under topologies/ (default line-3,paper-24), or generated ones
                      as SHAPE:BRIDGES:CONTAINERS (tree or ring, e.g. tree:1000:100000: issue 13's size,
                      the controller syncing 1,000 emulated switches over loopback)
  --runs N            timed flips per topology and variant (default 40)
  --warmup N          untimed flips first (default 10)
  --variants LIST     precomputed,on-commit,first-frame (default all)
  --cpu-prof FILE     CPU profile of the timed flips (precomputed variant, last topology) to FILE; its top costs printed
`);
  process.exit(0);
}
const int = (name: 'runs' | 'warmup', min: number) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got "${values[name]}"`);
  return n;
};
const runs = int('runs', 1);
const warmup = int('warmup', 0);
type Variant = 'precomputed' | 'on-commit' | 'first-frame';
const variants = values.variants!.split(',').map((v) => v.trim()) as Variant[];
for (const v of variants) if (v !== 'precomputed' && v !== 'on-commit' && v !== 'first-frame') throw new Error(`--variants: unknown "${v}" (precomputed, on-commit, first-frame)`);

interface FlipFigures {
  topology: string;
  switches: number;
  variant: Variant;
  flipMs: number[];
  /** Commit (or first frame) → commit answered (or migration-committed): the flip, then the state saved. */
  answerMs: number[];
  /** Process CPU time per flip (ms), this process = controller + emulated switches. */
  cpuMs: number[];
  stages: number;
  flowMods: number;
  /** Timed flips that sent a plan computed at prepare time (the rest computed on commit). */
  sentPrepared: number;
  /** The switches start connecting → every one connected and its flows barrier-confirmed (start-up). */
  startupMs: number;
  /** Prepare called → prepared (its flows confirmed and the flip's plan made), median of the timed flips. */
  prepareMs: number[];
}

async function measure(topology: ResolvedTopology, variant: Variant, profileTo?: string): Promise<FlipFigures> {
  const c = pickFlipCase(topology);
  const portName = topology.containers[c.container]!.port;
  const ofport = topology.containers[c.container]!.ofport;
  // The mover's port exists at both ends (attached before the commit, as in a real migration).
  const started = await startConnected(topology, { extraPorts: (node) => (node === c.away || node === c.home ? [{ ofport, name: portName }] : []) });
  const { app, switches, startupMs } = started;
  app.migrations.precomputeFlips = variant !== 'on-commit';
  try {
    const nodeIndex = new Map(Object.values(topology.nodes).map((n, i) => [n.name, i]));
    const prepareMs: number[] = [];
    const flipMs: number[] = [];
    const answerMs: number[] = [];
    const cpuMs: number[] = [];
    let stages = 0;
    let flowMods = 0;
    let sentPrepared = 0;
    // The flip's last barrier reply: its last stage applied (the commit answers after the save).
    let lastStageAt = NaN;
    const onEvent = (e: { type: string; flowMods?: unknown; reason?: unknown }) => {
      if (e.type === 'flows-stage-applied' && String(e.reason).startsWith('commit migration')) lastStageAt = performance.now();
      if (e.type === 'flows-stage-applied') stages++;
      if (e.type === 'flows-applied') flowMods += Number(e.flowMods);
    };
    let profiler: Session | undefined;
    const profiles: CpuProfile[] = [];
    if (profileTo) {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 50 });
    }
    for (let i = 0; i < warmup + runs; i++) {
      const timed = i >= warmup;
      const to = i % 2 === 0 ? c.away : c.home;
      const preparing = performance.now();
      const m = await app.migrations.prepare(c.container, { node: to, port: portName });
      if (timed) prepareMs.push(performance.now() - preparing);
      if (timed) app.controller.on('event', onEvent);
      // Only the commits are profiled (not the prepares between them).
      if (timed && profiler) await profiler.post('Profiler.start');
      const prepared0 = app.controller.syncCounts.prepared;
      const cpu0 = process.cpuUsage();
      let done: Awaited<ReturnType<typeof app.migrations.commit>>;
      let frameToFlippedMs = NaN;
      let answeredMs: number;
      lastStageAt = NaN;
      if (variant === 'first-frame') {
        // The container's first frame at its new port commits: PACKET_IN written → flip confirmed.
        const committed = new Promise<void>((resolve) => {
          const on = (e: { type: string; id?: unknown }) => {
            if (e.id === m.id && (e.type === 'migration-committed' || e.type === 'migration-failed')) {
              app.controller.off('event', on);
              resolve();
            }
          };
          app.controller.on('event', on);
        });
        const sent = performance.now();
        switches[nodeIndex.get(to)!]!.sendFrame(ofport, topology.containers[c.container]!.mac);
        await committed;
        answeredMs = performance.now() - sent;
        frameToFlippedMs = lastStageAt - sent;
        done = app.migrations.get(m.id)!;
      } else {
        const asked = performance.now();
        done = await app.migrations.commit(m.id);
        answeredMs = performance.now() - asked;
      }
      const cpu = process.cpuUsage(cpu0);
      if (timed && profiler) profiles.push((await profiler.post('Profiler.stop')).profile as unknown as CpuProfile);
      if (timed) app.controller.off('event', onEvent);
      if (done.state !== 'committed' || done.flipLatencyMs === null) throw new Error(`${topology.name}: flip ${i + 1} ended ${done.state}: ${done.error ?? ''}`);
      if (timed) {
        flipMs.push(variant === 'first-frame' ? frameToFlippedMs : done.flipLatencyMs);
        answerMs.push(answeredMs);
        cpuMs.push((cpu.user + cpu.system) / 1000);
        sentPrepared += app.controller.syncCounts.prepared - prepared0;
      }
    }
    if (profiler && profileTo) {
      writeFileSync(profileTo, JSON.stringify(mergeProfiles(profiles)));
      profiler.disconnect();
    }
    return { topology: topology.name, switches: switches.length, variant, flipMs, answerMs, cpuMs, stages: stages / runs, flowMods: flowMods / runs, sentPrepared, startupMs, prepareMs };
  } finally {
    await started.close();
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; scriptId?: string; columnNumber?: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * One profile of many (each commit's), under a common root, for bench/lib/cpu-profile.ts.
 * Samples inside the inspector's own `post` (the profiler starting: most of the samples,
 * whatever the commit costs) are left out.
 */
function mergeProfiles(profiles: CpuProfile[]): CpuProfile {
  const merged: CpuProfile = { nodes: [{ id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [] }], samples: [], timeDeltas: [], startTime: 0, endTime: 0 };
  let offset = 1;
  for (const p of profiles) {
    let max = 0;
    for (const n of p.nodes) {
      max = Math.max(max, n.id);
      merged.nodes.push({ ...n, id: n.id + offset, ...(n.children ? { children: n.children.map((c) => c + offset) } : {}) });
    }
    merged.nodes[0]!.children!.push(p.nodes[0]!.id + offset);
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const profilerOwn = new Set<number>();
    const mark = (n: CpuProfile['nodes'][number]): void => {
      profilerOwn.add(n.id);
      for (const c of n.children ?? []) mark(byId.get(c)!);
    };
    for (const n of p.nodes) if (n.callFrame.functionName === 'post' && n.callFrame.url === 'node:inspector') mark(n);
    p.samples.forEach((s, i) => {
      if (profilerOwn.has(s)) return;
      merged.samples.push(s + offset);
      merged.timeDeltas.push(p.timeDeltas[i]!);
    });
    merged.endTime += p.endTime - p.startTime;
    offset += max;
  }
  return merged;
}

const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

async function main(): Promise<void> {
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('flip (controller\'s own cost): commit → last barrier reply, vino in-process, emulated switches answering at once');
  out(`machine: ${describeMachine()}`);
  out(`${runs} timed flips (after ${warmup} untimed) per topology and variant; the container moves between its host and the farthest host`);
  out('variants: precomputed = post-flip flow changes computed at prepare time, commit only sends them;');
  out('          on-commit   = post-flip state recomputed and diffed on the commit path (the first round\'s way)');
  out('          first-frame = precomputed, committed by the container\'s first frame: PACKET_IN written → flip confirmed (includes the packet-in path)');
  out('flip ms: commit (or frame) → the flip\'s last barrier reply; answered ms: → the commit answered, after the state is saved');
  const names = values.topologies!.split(',').map((s) => s.trim()).filter(Boolean);
  const rows: FlipFigures[] = [];
  for (const name of names) {
    const topology = await topologyNamed(name);
    // Alternating variants: both see the same load.
    for (const variant of variants) {
      const prof = values['cpu-prof'] && variant === variants[0] && name === names[names.length - 1] ? values['cpu-prof'] : undefined;
      rows.push(await measure(topology, variant, prof));
    }
  }
  out('');
  const head = ['topology', 'switches', 'variant', 'start-up ms (connect + sync)', 'prepare ms (median)', 'sent as prepared', 'stages', 'flow_mods', 'median ms', 'p90 ms', 'max ms', 'answered ms (median)', 'CPU ms (median)', 'goal', 'vs on-commit'];
  const table = rows.map((r) => {
    const peer = rows.find((x) => x.topology === r.topology && x.variant === 'on-commit');
    const goal = r.variant === 'first-frame' ? FIRST_FRAME_GOAL_MS : GOAL_MS[r.topology];
    const med = median(r.flipMs);
    return [r.topology, String(r.switches), r.variant, fmt(r.startupMs), fmt(median(r.prepareMs)), `${r.sentPrepared}/${r.flipMs.length}`, fmt(r.stages, 1), fmt(r.flowMods, 0), fmt(med), fmt(quantile(r.flipMs, 0.9)), fmt(Math.max(...r.flipMs)), fmt(median(r.answerMs)), fmt(median(r.cpuMs)),
      goal === undefined ? '-' : `≤ ${goal} ms ${med <= goal ? 'MET' : 'NOT MET'}`,
      peer && peer !== r ? `${fmt(median(peer.flipMs) / med)}× faster` : '-'];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  out(head.map((h, i) => h.padEnd(widths[i]!)).join(' | '));
  out(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const row of table) out(row.map((c, i) => c.padEnd(widths[i]!)).join(' | '));
  if (values['cpu-prof']) out(`\n${formatProfile(values['cpu-prof'])}`);
}

/** A file under topologies/, or a generated topology named SHAPE:BRIDGES:CONTAINERS. */
async function topologyNamed(name: string): Promise<ResolvedTopology> {
  const generated = /^(tree|ring):(\d+):(\d+)$/.exec(name);
  if (!generated) return loadTopology(join(ROOT, 'topologies', `${name}.json`));
  const [, shape, bridges, containers] = generated;
  const doc = generateTopology({ shape: shape as 'tree' | 'ring', bridges: Number(bridges), containers: Number(containers) });
  return resolveTopology({ ...doc, name: `${shape}-${bridges}-${containers}` });
}

main().then(() => process.exit(0), (err: Error) => {
  process.stderr.write(`flip: ${err.message}\n`);
  process.exit(1);
});
