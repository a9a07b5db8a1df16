/**
 * Live fuzzing of a running controller over TCP: the controller runs as its own process (the
 * real `vino-controller run`), well-behaved emulated switches (one per topology node, with
 * tables) probe it with packet-ins, and hostile clients attack it in several modes at once.
 * Shared by bench/fuzz-live.ts (`npm run fuzz:live`) and test/controller/fuzz-live.test.ts
 * (a short run). Bounded in count and time; stops by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Message } from '../../src/openflow/types/index.js';
import { FakeSwitch, fakePort } from '../../src/openflow-sim/fake-switch.js';
import type { SimSwitch } from '../../src/openflow-sim/network.js';
import { Worker } from 'node:worker_threads';
import { Port } from '../../src/openflow/constants.js';
import { arpRequest } from './raw-client.js';
import type { AttackInput, AttackResult } from './fuzz-live-attack.js';
import { loadTopology } from '../../src/topology/load.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { distFile } from '../../test/util/paths.js';

import { HOSTILE_MODES, type HostileMode } from './fuzz-live-attack.js';
export { HOSTILE_MODES, type HostileMode };

export interface LiveFuzzOptions {
  topologyFile: string;
  /** How long the hostile clients attack. */
  attackMs: number;
  /** Concurrent clients per mode (storm: connections opened at once). */
  hostile: Record<HostileMode, number>;
  /** Slowloris: one byte every this many ms. */
  slowByteMs: number;
  /** Packet-in RTT probes per probing switch before the attack. */
  baselineProbes: number;
  /** Extra flags for `vino-controller run` (limits, timeouts). */
  controllerArgs: string[];
  seed: number;
  progress?: (line: string) => void;
}

export interface RttSummary {
  count: number;
  medianMs: number;
  p99Ms: number;
}

export interface LiveFuzzReport {
  messagesSent: number;
  bytesSent: number;
  sentByMode: Record<string, number>;
  connectionsByMode: Record<string, number>;
  /** The controller process ended before it was told to stop, or stopped uncleanly. */
  crashed: boolean;
  exitCode: number | null;
  /** 'internal error handling a switch message' log lines. */
  internalErrors: number;
  accepted: number;
  refused: number;
  /** Close log lines of sessions (every accepted hostile connection should have one). */
  closesLogged: number;
  closeReasons: Record<string, number>;
  /** PACKET_INs and ECHO_REQUESTs dropped by the per-switch rate limits (from the close logs). */
  droppedByRateLimit: number;
  openAtEnd: number;
  goodSwitches: number;
  goodStillConnected: number;
  rttBefore: RttSummary;
  rttDuring: RttSummary;
  probesLost: number;
  flowsChanged: string[];
  rssBeforeKiB: number;
  rssPeakKiB: number;
  rssAfterKiB: number;
  controllerArgs: string[];
}

interface Controller {
  child: ChildProcess;
  ofPort: number;
  apiUrl: string;
  exited: Promise<number | null>;
  hasExited: () => boolean;
  counts: { internalErrors: number; closes: number; refusedLogged: number; dropped: number; reasons: Map<string, number> };
}

const CLOSE_MESSAGES = new Set([
  'switch disconnected', 'unknown switch disconnected', 'connection closed before the handshake completed', 'switch connection closed',
]);

/** Groups close reasons: numbers, addresses and header bytes vary, the cause does not. */
export function reasonCategory(reason: string): string {
  const refused = /^refused header [0-9a-f()none]*: (\w+\/\w+)/.exec(reason);
  if (refused) return `refused header: ${refused[1]}`;
  return reason.replace(/dpid [0-9a-f]+/g, 'dpid X').replace(/\d+/g, 'N').slice(0, 90);
}

async function startController(topologyFile: string, args: string[]): Promise<Controller> {
  const child = spawn(process.execPath, [distFile('controller/cli.js'), 'run', '--topology', topologyFile, '--of-listen', '127.0.0.1:0', '--api-listen', '127.0.0.1:0', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  const exitedP = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    exited = true;
    resolve(code);
  }));
  const counts = { internalErrors: 0, closes: 0, refusedLogged: 0, dropped: 0, reasons: new Map<string, number>() };
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const ready = new Promise<{ ofPort: number; apiUrl: string }>((resolve, reject) => {
    let ofPort = 0;
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let rec: { msg?: string; listen?: string[]; api?: string; reason?: string; dropped?: number };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        return;
      }
      if (rec.msg === 'listening for switches') ofPort = Number(rec.listen![0]!.split(':').pop());
      else if (rec.msg === 'API listening') resolve({ ofPort, apiUrl: rec.api! });
      else if (rec.msg === 'internal error handling a switch message') counts.internalErrors++;
      else if (rec.msg?.startsWith('connection refused')) counts.refusedLogged++;
      else if (rec.msg && CLOSE_MESSAGES.has(rec.msg)) {
        counts.closes++;
        counts.dropped += rec.dropped ?? 0;
        const key = reasonCategory(rec.reason ?? '(no reason)');
        counts.reasons.set(key, (counts.reasons.get(key) ?? 0) + 1);
      }
    });
    void exitedP.then((code) => reject(new Error(`controller exited (${code}) before listening: ${stderr}`)));
  });
  const { ofPort, apiUrl } = await ready;
  return { child, ofPort, apiUrl, exited: exitedP, hasExited: () => exited, counts };
}

async function metric(apiUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function summary(samples: number[]): RttSummary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN);
  return { count: s.length, medianMs: at(0.5), p99Ms: at(0.99) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tableSnapshot(table: SimSwitch): string[] {
  return table.flows.map((f) => JSON.stringify({ t: f.tableId, p: f.priority, c: f.cookie, m: f.match, i: f.instructions }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))).sort();
}

/** One good switch per topology node; the container hosts among them probe packet-in RTT with proxy ARP. */
class GoodSwitches {
  readonly switches = new Map<string, FakeSwitch>();
  readonly rtts: number[] = [];
  lost = 0;
  private probing = false;

  constructor(private readonly topology: ResolvedTopology, port: number) {
    for (const [name, node] of Object.entries(topology.nodes)) {
      const ports = [...node.bridge.ports.map((p) => fakePort(p.ofport, p.name)), fakePort(Port.LOCAL, node.bridge.name)];
      this.switches.set(name, new FakeSwitch(port, { datapathId: BigInt(`0x${node.bridge.dpid}`), ports }));
    }
  }

  /** Sends a proxy-ARP question from each container host in turn and times the PACKET_OUT answer. */
  async probe(rounds: number | (() => boolean)): Promise<void> {
    const containers = Object.values(this.topology.containers).filter((c) => c.ip);
    if (containers.length < 2) throw new Error('live fuzz: the topology needs two containers with IPs for RTT probes');
    this.probing = true;
    const loops = containers.map(async (c, i) => {
      const target = containers[(i + 1) % containers.length]!;
      const sw = this.switches.get(c.node)!;
      const frame = arpRequest(c.mac, c.ip!, target.ip!);
      for (let n = 0; typeof rounds === 'number' ? n < rounds : rounds(); n++) {
        const started = performance.now();
        const answered = new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            sw.off('message', check);
            resolve(false);
          }, 3000);
          const check = (m: Message) => {
            if (m.type !== 'PACKET_OUT') return;
            clearTimeout(timer);
            sw.off('message', check);
            resolve(true);
          };
          sw.on('message', check);
        });
        sw.packetIn(c.ofport, frame);
        if (await answered) this.rtts.push(performance.now() - started);
        else this.lost++;
        // Drop what the fake switch recorded: a long run must not grow it.
        sw.received.length = 0;
        await sleep(10);
      }
    });
    await Promise.all(loops);
    this.probing = false;
  }

  snapshot(): Map<string, string[]> {
    return new Map([...this.switches].map(([n, s]) => [n, tableSnapshot(s.table)]));
  }

  close(): void {
    for (const s of this.switches.values()) s.close();
  }
}

export async function runLiveFuzz(opts: LiveFuzzOptions): Promise<LiveFuzzReport> {
  const say = opts.progress ?? (() => {});
  const topology = await loadTopology(opts.topologyFile);
  const ctl = await startController(opts.topologyFile, opts.controllerArgs);
  const pid = ctl.child.pid!;
  const good = new GoodSwitches(topology, ctl.ofPort);
  try {
    // Every node connected, its flows installed and settled.
    const nodes = Object.keys(topology.nodes).length;
    let lastCounts = '';
    for (let stable = 0, i = 0; stable < 3; i++) {
      if (i > 300) throw new Error('live fuzz: the good switches did not settle within 60 s');
      await sleep(200);
      const info = await (await fetch(`${ctl.apiUrl}/api/v1/switches`)).json() as { connected: boolean; flowCount: number }[];
      const counts = [...good.switches.values()].map((s) => s.table.flows.length).join(',');
      const ok = info.filter((s) => s.connected).length === nodes && info.every((s) => s.flowCount > 0);
      stable = ok && counts === lastCounts ? stable + 1 : 0;
      lastCounts = counts;
    }
    say(`controller pid ${pid} on 127.0.0.1:${ctl.ofPort}, ${nodes} good switches ready`);
    await good.probe(opts.baselineProbes);
    const rttBefore = summary(good.rtts);
    good.rtts.length = 0;
    const lostBefore = good.lost;
    const tablesBefore = good.snapshot();
    const rssBeforeKiB = rssKiB(pid);
    let rssPeakKiB = rssBeforeKiB;
    const rssTimer = setInterval(() => {
      if (!ctl.hasExited()) rssPeakKiB = Math.max(rssPeakKiB, rssKiB(pid));
    }, 250);

    say(`attacking for ${opts.attackMs} ms`);
    const deadline = performance.now() + opts.attackMs;
    // The attackers get their own threads (the storm one of its own, so that its 1,000 connects
    // are not held up behind the floods): their work must not delay the good switches' probes here.
    const noStorm = { ...opts.hostile, storm: 0 };
    const stormOnly = Object.fromEntries(HOSTILE_MODES.map((m) => [m, m === 'storm' ? opts.hostile.storm : 0])) as Record<HostileMode, number>;
    const runWorker = (hostile: Record<HostileMode, number>) => {
      const input: AttackInput = { host: '127.0.0.1', port: ctl.ofPort, attackMs: opts.attackMs, hostile, slowByteMs: opts.slowByteMs, seed: opts.seed };
      const worker = new Worker(new URL('./fuzz-live-attack.js', import.meta.url), { workerData: input });
      return new Promise<AttackResult>((resolve, reject) => {
        worker.once('message', (r: AttackResult) => {
          resolve(r);
          void worker.terminate();
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`attack worker exited (${code}) without a result`)));
      });
    };
    const probing = good.probe(() => performance.now() < deadline && !ctl.hasExited());
    const results = await Promise.all([runWorker(noStorm), runWorker(stormOnly)]);
    const attack: AttackResult = { sent: {}, connections: {}, bytes: 0 };
    for (const r of results) {
      attack.bytes += r.bytes;
      for (const m of HOSTILE_MODES) {
        attack.sent[m] = (attack.sent[m] ?? 0) + (r.sent[m] ?? 0);
        attack.connections[m] = (attack.connections[m] ?? 0) + (r.connections[m] ?? 0);
      }
    }
    await probing;
    const rttDuring = summary(good.rtts);
    clearInterval(rssTimer);

    // Every hostile connection gone: wait for the controller to count only the good ones.
    let openAtEnd = NaN;
    for (let i = 0; i < 150 && !ctl.hasExited(); i++) {
      openAtEnd = await metric(ctl.apiUrl, 'vino_switch_connections_open');
      if (openAtEnd <= nodes) break;
      await sleep(200);
    }
    const accepted = ctl.hasExited() ? NaN : await metric(ctl.apiUrl, 'vino_switch_connections_total');
    const refused = ctl.hasExited() ? NaN : await metric(ctl.apiUrl, 'vino_switch_connections_refused_total');
    const rssAfterKiB = ctl.hasExited() ? 0 : rssKiB(pid);
    const tablesAfter = good.snapshot();
    const flowsChanged: string[] = [];
    for (const [node, before] of tablesBefore) {
      const after = tablesAfter.get(node)!;
      if (before.length !== after.length || before.some((f, i) => f !== after[i])) flowsChanged.push(`${node}: ${before.length} flows before, ${after.length} after`);
    }
    const goodStillConnected = [...good.switches.values()].filter((s) => !s.closed).length;
    const crashedEarly = ctl.hasExited();
    // Before the stop: the good switches' own closes at shutdown are not hostile sessions.
    const closesLogged = ctl.counts.closes;
    const closeReasons = Object.fromEntries([...ctl.counts.reasons].sort((a, b) => b[1] - a[1]));
    good.close();
    ctl.child.kill('SIGTERM');
    const exitCode = await ctl.exited;
    const sentByMode = attack.sent;
    return {
      messagesSent: Object.values(sentByMode).reduce((a, b) => a + b, 0), bytesSent: attack.bytes, sentByMode,
      connectionsByMode: attack.connections, crashed: crashedEarly || exitCode !== 0, exitCode,
      internalErrors: ctl.counts.internalErrors, accepted, refused, closesLogged,
      closeReasons, droppedByRateLimit: ctl.counts.dropped, openAtEnd,
      goodSwitches: nodes, goodStillConnected, rttBefore, rttDuring, probesLost: good.lost - lostBefore, flowsChanged,
      rssBeforeKiB, rssPeakKiB, rssAfterKiB, controllerArgs: opts.controllerArgs,
    };
  } finally {
    good.close();
    if (!ctl.hasExited()) ctl.child.kill('SIGKILL');
  }
}

/** The report as the table `npm run fuzz:live` prints. */
export function formatReport(r: LiveFuzzReport): string {
  const out: string[] = [];
  const row = (k: string, v: string | number) => out.push(`  ${k.padEnd(44)} ${v}`);
  out.push('hostile traffic (messages sent / connections opened, by mode):');
  for (const m of HOSTILE_MODES) row(m, `${r.sentByMode[m]} / ${r.connectionsByMode[m]}`);
  row('total messages sent', `${r.messagesSent} (${(r.bytesSent / 1e6).toFixed(1)} MB)`);
  out.push('controller:');
  row('crashed', r.crashed ? `YES (exit ${r.exitCode})` : `no (clean exit ${r.exitCode})`);
  row('internal errors logged', r.internalErrors);
  row('connections accepted / refused (handshake cap)', `${r.accepted} / ${r.refused}`);
  row('hostile sessions closed with a logged reason', `${r.closesLogged} of ${r.accepted - r.goodSwitches}`);
  row('connections open at the end (good switches)', `${r.openAtEnd} (${r.goodSwitches})`);
  row('PACKET_IN/ECHO dropped by the rate limits', r.droppedByRateLimit);
  out.push('close reasons:');
  for (const [k, v] of Object.entries(r.closeReasons)) row(k, v);
  out.push('good switches:');
  row('still connected', `${r.goodStillConnected} of ${r.goodSwitches}`);
  row('flow tables changed', r.flowsChanged.length === 0 ? 'none' : r.flowsChanged.join('; '));
  row('packet-in RTT before: median / p99 (n)', `${r.rttBefore.medianMs.toFixed(2)} / ${r.rttBefore.p99Ms.toFixed(2)} ms (${r.rttBefore.count})`);
  row('packet-in RTT during: median / p99 (n)', `${r.rttDuring.medianMs.toFixed(2)} / ${r.rttDuring.p99Ms.toFixed(2)} ms (${r.rttDuring.count})`);
  row('median ratio during/before', (r.rttDuring.medianMs / r.rttBefore.medianMs).toFixed(2));
  row('probes unanswered within 3 s during the attack', r.probesLost);
  row('controller RSS before / peak / after', `${(r.rssBeforeKiB / 1024).toFixed(0)} / ${(r.rssPeakKiB / 1024).toFixed(0)} / ${(r.rssAfterKiB / 1024).toFixed(0)} MiB`);
  row('controller flags', r.controllerArgs.join(' '));
  return out.join('\n');
}
