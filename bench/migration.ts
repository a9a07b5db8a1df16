/**
 * `npm run bench:migration` (root): how long a live-migrated container is unreachable, with
 * learning switches, learning switches + gratuitous ARP, an os-ken (Ryu) learning controller,
 * and vino (prepare + commit, prepare + auto-commit), all in one invocation on the same testbed;
 * then vino's flip latency on the 3- and 24-node topologies.
 *
 * Scenario (topologies/two-region.json): "web" runs an HTTP server and a UDP echo server and
 * migrates from h1 (CORE) to h3 (EDGE-TR1); "client" on h4 opens a fresh TCP connection with
 * one HTTP request every 10 ms (200 ms timeout) and streams one UDP datagram every 1 ms on one
 * long-lived flow. Migration = freeze, unplug, copy time, attach at the new host (same MAC and
 * IP), resume (testbed/workload/emulate.ts; by default the link-flip emulation). See testbed/workload/stats.ts for the figures.
 *
 * Options: --runs N (5) --modes a,b,... (all) --window S (30) --copy-ms MS (200) --pre-ms MS
 * (2000) --hold-ms MS (1000) --flip-topologies a,b (line-3,paper-24; "none" to skip)
 * --flip-runs N (5) --json FILE (every run's figures) --keep DIR (copy the controller log, client
 * records and any diagnosis there before the teardown) --flush-neighbours (the container's ARP
 * cache is emptied by the move instead of carried over) --control-freeze-ms MS (default: the copy
 * time; how long the control mode, freeze + resume without a move, keeps the service stopped)
 * --udp-rcvbuf BYTES (the service's UDP SO_RCVBUF; default the system's, 208 KiB on Linux: a whole
 * freeze's datagrams replayed to it may not fit, see the socket overflows column) --emulation flip|veth (flip: the container has a bridge inside and a standby link prepared at
 * the new host before the run, the move is its old link down and the standby up, a few ms;
 * veth: the veth is re-created at the new host, 1-2 s) --vino-args="ARGS" (extra controller flags
 * for every vino mode, e.g. "--hold-replay-window 0" for a before/after pair) --verbose
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { measureFlips, type FlipResult } from './migration/flip.js';
import { MODE_KEYS, MODE_LABELS, measureMode, type ModeKey, type RunResult, type Scenario } from './migration/modes.js';
import { Overlay } from '../testbed/workload/overlay.js';
import { killAllChildren, monotonicMs } from '../testbed/workload/processes.js';
import { osKenMissing } from './migration/osken.js';
import { testControllerMissing } from './migration/testcontroller.js';
import { checkTargets, flipTable, floorLine, formatTargets, MECHANISMS, modeTable, PAPER_REFERENCE } from './migration/report.js';
import { formatMs } from '../testbed/workload/stats.js';
import { startVino, waitConnected } from '../testbed/workload/vino.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    modes: { type: 'string', default: MODE_KEYS.join(',') },
    window: { type: 'string', default: '30' },
    'copy-ms': { type: 'string', default: '200' },
    'pre-ms': { type: 'string', default: '2000' },
    'hold-ms': { type: 'string', default: '1000' },
    'flip-topologies': { type: 'string', default: 'line-3,paper-24' },
    'flip-runs': { type: 'string', default: '5' },
    json: { type: 'string' },
    keep: { type: 'string' },
    'flush-neighbours': { type: 'boolean', default: false },
    'control-freeze-ms': { type: 'string' },
    'udp-rcvbuf': { type: 'string', default: '0' },
    emulation: { type: 'string', default: 'flip' },
    'vino-args': { type: 'string', default: '' },
    verbose: { type: 'boolean', short: 'v', default: false },
  },
  strict: true,
});

function int(name: keyof typeof values, min: number): number {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got "${String(values[name])}"`);
  return n;
}

const runs = int('runs', 1);
const windowMs = int('window', 1) * 1000;
const copyMs = int('copy-ms', 0);
const preMs = int('pre-ms', 0);
const holdMs = int('hold-ms', 0);
const flipRuns = int('flip-runs', 1);
// The control stays stopped as long as a move does: the copy time (the flip adds a few ms).
const controlFreezeMs = values['control-freeze-ms'] === undefined ? copyMs : int('control-freeze-ms', 0);
const emulation = values.emulation as 'flip' | 'veth';
if (emulation !== 'flip' && emulation !== 'veth') throw new Error(`--emulation: expected flip or veth, got "${String(values.emulation)}"`);
const modes = values.modes!.split(',').map((m) => m.trim()).filter(Boolean) as ModeKey[];
for (const m of modes) if (!MODE_KEYS.includes(m)) throw new Error(`--modes: unknown mode "${m}" (modes: ${MODE_KEYS.join(', ')})`);
const flipTopologies = values['flip-topologies'] === 'none' ? [] : values['flip-topologies']!.split(',').map((t) => t.trim()).filter(Boolean);

const started = monotonicMs();
const stamp = () => `[${((monotonicMs() - started) / 1000).toFixed(1).padStart(6)} s]`;
const progress = (line: string) => process.stderr.write(`${stamp()} ${line}\n`);
const detail = (line: string) => {
  if (values.verbose) progress(line);
};

/** Why criu is not offered as a mode (null if it works: then it would be). */
function criuStatus(): string {
  try {
    execFileSync('criu', ['check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
    return 'criu check passes on this machine, but a checkpoint/restore mode is not implemented: the emulation is used';
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') return 'criu is not installed; the emulation freezes the processes instead';
    const first = (e.stderr ?? '').split('\n').find((l) => /Error/.test(l)) ?? 'criu check failed';
    return `criu cannot run here (${first.trim()}); the emulation freezes the processes instead`;
  }
}

function runLine(r: RunResult): string {
  const f = r.figures;
  const flip = r.flipLatencyMs !== null ? `, flip ${formatMs(r.flipLatencyMs)} (${r.committedBy}${r.commitRaced ? ', commit call came second' : ''})` : '';
  const lost = f.http.lostBefore + f.http.lostAfter;
  const ulost = f.udp.lostBefore + f.udp.lostAfter;
  return `${MODE_LABELS[r.mode]} run ${r.run}: refractory HTTP ${formatMs(f.http.refractoryMs ?? Infinity, windowMs)}, UDP ${formatMs(f.udp.refractoryMs ?? Infinity, windowMs)}; ` +
    `downtime HTTP ${formatMs(f.http.downtimeMs ?? Infinity, windowMs)}; lost outside the freeze ${lost} probes, ${ulost} datagrams; frozen ${formatMs(r.freezeMs)}${flip}`;
}

async function twoRegion(byMode: Map<ModeKey, RunResult[]>): Promise<void> {
  if (modes.length === 0) return;
  if (modes.includes('osken')) {
    const missing = osKenMissing();
    if (missing) throw new Error(`mode osken: ${missing}`);
  }
  if (modes.includes('ovs-testcontroller')) {
    const missing = testControllerMissing();
    if (missing) throw new Error(`mode ovs-testcontroller: ${missing}`);
  }
  progress('two-region: starting the testbed (7 nodes)');
  const overlay = await Overlay.create('two-region.json', { log: detail });
  try {
    const vinoArgs = values['vino-args']!.split(/\s+/).filter(Boolean);
    const startWith = (extraArgs: string[], expectSwitches: number) => startVino({
      topologyFile: overlay.topologyFile, ofHost: overlay.controllerHost, ofPort: overlay.controllerPort,
      stateFile: overlay.file('vino-state.json'), logFile: overlay.file('vino.log'), expectSwitches, extraArgs: [...vinoArgs, ...extraArgs],
    });
    const vino = await startWith([], 0);
    let current = vino;
    try {
      await overlay.provision();
      await waitConnected(vino, Object.keys(overlay.topology.nodes).length, 60_000);
      await overlay.addContainers(['web'], { bridged: emulation === 'flip' });
      await overlay.addContainers(['client']);
      const duplicateLog = overlay.file('server-duplicates.jsonl');
      await overlay.startServer('web', { http: 8080, udp: 7777, udpRcvbuf: int('udp-rcvbuf', 0), duplicateLog });
      const s: Scenario = {
        overlay, container: 'web', home: 'h1', away: 'h3', client: 'client',
        duplicateLog, copyMs, emulation, keepNeighbours: !values['flush-neighbours'], preMs, holdMs, windowMs, controlFreezeMs, vino,
        async restartVino(extraArgs) {
          await s.vino.stop();
          s.vino = current = await startWith(extraArgs, Object.keys(overlay.topology.nodes).length);
        },
      };
      for (const key of modes) {
        progress(`${MODE_LABELS[key]}: ${runs} runs`);
        byMode.set(key, await measureMode(s, key, runs, (r) => progress(`  ${runLine(r)}`)));
      }
    } finally {
      await current.stop();
    }
  } finally {
    if (values.keep) {
      mkdirSync(values.keep, { recursive: true });
      for (const f of readdirSync(overlay.dir)) copyFileSync(path.join(overlay.dir, f), path.join(values.keep, f));
      progress(`controller log, client records and diagnoses copied to ${values.keep}`);
    }
    progress('two-region: tearing the testbed down');
    await overlay.down();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:migration needs root (the testbed makes network namespaces)');
  const byMode = new Map<ModeKey, RunResult[]>();
  const flips: FlipResult[] = [];
  await twoRegion(byMode);
  for (const t of flipTopologies) {
    progress(`flip latency on ${t}: starting the testbed`);
    flips.push(await measureFlips(`${t.replace(/\.json$/, '')}.json`, flipRuns, detail));
  }

  const cpu = cpus();
  const out: string[] = [];
  out.push(`Live migration on the emulated testbed: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (byMode.size > 0) {
    out.push(`"web" migrates h1 (CORE) → h3 (EDGE-TR1) of two-region, "client" on h4; ${runs} runs per mode; copy time ${copyMs} ms;`);
    out.push(emulation === 'flip'
      ? `move: link flip (old link down, prepared standby link with its port already on h3's bridge up); control frozen ${controlFreezeMs} ms;`
      : `move: veth re-created at h3 (unplug, new veth, OVSDB add-port); control frozen ${controlFreezeMs} ms;`);
    out.push(values['flush-neighbours'] ? 'the container\'s ARP cache is emptied by the move (--flush-neighbours);' : 'the container\'s ARP cache moves with it, as in a live migration;');
    out.push(`observation up to ${windowMs / 1000} s after the resume ("> ${windowMs / 1000} s": not recovered by then).`);
    out.push('');
    out.push(modeTable(byMode, windowMs));
  }
  if (flips.length > 0) {
    out.push('');
    out.push(flipTable(flips));
  }
  const checks = checkTargets(byMode, flips);
  if (checks.length > 0) {
    out.push('');
    out.push('Targets:');
    out.push(formatTargets(checks));
    const floor = floorLine(byMode);
    if (floor) out.push(floor);
  }
  out.push('');
  if (byMode.size > 0) out.push(MECHANISMS);
  out.push(PAPER_REFERENCE);
  out.push(`Checkpoint/restore: ${criuStatus()}.`);
  console.log(out.join('\n'));

  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ runs: Object.fromEntries(byMode), flips, checks }, null, 2));
    progress(`every run's figures written to ${values.json}`);
  }
  if (checks.some((c) => !c.met)) process.exitCode = 1;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    process.stderr.write(`\n${sig}: stopping the controller, os-ken and probes, tearing the testbed down\n`);
    killAllChildren();
    // The testbed's own handler (registered by Testbed.up) removes its namespaces and processes.
    process.exitCode = 130;
    setImmediate(() => process.exit(130));
  });
}

main().catch((e: unknown) => {
  killAllChildren();
  console.error(`bench:migration: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
