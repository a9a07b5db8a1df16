/**
 * `npm run demo` (root, after `bash scripts/setup`): the live migration, end to end, on this
 * machine. Brings up the embedded testbed for topologies/two-region.json (every node a network
 * namespace with its own OVS), starts vino-controller, provisions the overlay through OVSDB,
 * starts a service in container "web" (h1, region CORE) and a client in "client" (h4, EDGE-TR1),
 * migrates "web" to h3 (EDGE-TR1) through the controller's endpoint while the client talks to
 * it, and tells what happened, in milliseconds. Everything is torn down at the end, also on
 * Ctrl-C and on any failure.
 *
 * Options: --copy-ms MS (200) the emulated memory copy; --auto-commit (let the container's first
 * frame commit instead of calling commit); --keep-logs DIR (where the controller log and the
 * client record are copied before the teardown; default a new $TMPDIR/vino-demo-<time> folder,
 * printed at the start and the end: the logs the demo points to outlive it).
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ProbeClient } from './workload/client.js';
import { emulateMigration, type EmulatedMigration } from './workload/emulate.js';
import { Overlay } from './workload/overlay.js';
import { killAllChildren, monotonicMs, sleep } from './workload/processes.js';
import { analyzeRun, formatMs, type RunFigures } from './workload/stats.js';
import { commitOrJoin, startVino, waitConnected, type MigrationView, type VinoProcess } from './workload/vino.js';

const { values } = parseArgs({
  options: {
    'copy-ms': { type: 'string', default: '200' },
    'auto-commit': { type: 'boolean', default: false },
    'keep-logs': { type: 'string' },
  },
  strict: true,
});
const copyMs = Number(values['copy-ms']);
if (!Number.isInteger(copyMs) || copyMs < 0) throw new Error(`--copy-ms: expected an integer >= 0, got "${values['copy-ms']}"`);

// The testbed folder holding the logs is removed at the teardown: they are copied here first.
const logsDir = path.resolve(values['keep-logs'] ?? path.join(os.tmpdir(), `vino-demo-${new Date().toISOString().replace(/[:.]/g, '-')}`));

const CONTAINER = 'web';
const FROM = 'h1';
const TO = 'h3';
const CLIENT = 'client';

const say = (text = '') => process.stdout.write(`${text}\n`);
const step = (text: string) => say(`\n▸ ${text}`);
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Wall clock → CLOCK_MONOTONIC (the controller's timeline is in wall-clock ISO times). */
const wallToMono = (() => {
  const offset = Date.now() - monotonicMs();
  return (iso: string) => Date.parse(iso) - offset;
})();

interface Event {
  at: number;
  who: 'orchestrator' | 'controller' | 'client';
  what: string;
}

/** The controller's timeline, consecutive barrier confirmations of one stage folded into one line. */
function controllerEvents(m: MigrationView): Event[] {
  const out: Event[] = [];
  let group: { at: number; stage: string; switches: string[]; last: number } | null = null;
  const flush = () => {
    if (!group) return;
    out.push({ at: group.last, who: 'controller', what: `barrier replies: ${group.stage} flows confirmed on ${group.switches.join(', ')}` });
    group = null;
  };
  for (const e of m.timeline) {
    const at = wallToMono(e.at);
    const b = e.event === 'barrier confirmed' ? /^(\S+) \(([^,]+),/.exec(e.detail ?? '') : null;
    if (b) {
      const [, sw, stage] = b;
      if (group && group.stage === stage) {
        group.switches.push(sw!);
        group.last = at;
      } else {
        flush();
        group = { at, stage: stage!, switches: [sw!], last: at };
      }
      continue;
    }
    flush();
    const text: Record<string, string> = {
      'prepare requested': 'prepare requested',
      prepared: 'prepared: bicast flows barrier-confirmed on every switch',
      'port seen': `new port reported by the switch (${e.detail ?? ''})`,
      'commit requested': 'commit requested',
      'first frame at the new port': 'first frame from the container at its new port (auto-commit)',
      committed: `committed: ${e.detail ?? ''}`,
    };
    out.push({ at, who: 'controller', what: text[e.event] ?? `${e.event}${e.detail ? `: ${e.detail}` : ''}` });
  }
  flush();
  return out;
}

function printTimeline(events: Event[], zero: number): void {
  events.sort((a, b) => a.at - b.at);
  say('     time   who            what');
  for (const e of events) say(`${ms(e.at - zero).padStart(11)}   ${e.who.padEnd(13)}  ${e.what}`);
}

function narrative(f: RunFigures, emu: EmulatedMigration, m: MigrationView, commitRaced: boolean): void {
  const frozen = emu.resumeAt - emu.freezeAt;
  const plumbing = emu.attachedAt - emu.attachStartAt + (emu.unpluggedAt - emu.frozenAt);
  say(`web was frozen for ${formatMs(frozen)}: ${formatMs(copyMs)} of emulated memory copy, ${formatMs(plumbing)} of unplugging and re-plugging`);
  say(`its network interface (${emu.from.node} → ${emu.to.node}, its ARP cache carried over), ${formatMs(emu.frozenAt - emu.freezeAt)} to stop its processes.`);
  say('');
  if (f.http.recovered && f.udp.recovered) {
    say(`After it resumed at ${emu.to.node}, the client got its first HTTP answer ${formatMs(f.http.refractoryMs!)} later; the first UDP`);
    say(`datagram sent after the resume was echoed, having left ${formatMs(f.udp.refractoryMs!)} after the resume (the refractory time).`);
    say(`Seen from the client, the service was down for ${formatMs(f.http.downtimeMs ?? NaN)} (HTTP) and ${formatMs(f.udp.downtimeMs ?? NaN)} (UDP), of which ${formatMs(frozen)} was the freeze.`);
  } else {
    say(`The client did not get answers back after the resume (HTTP recovered: ${f.http.recovered}, UDP recovered: ${f.udp.recovered}).`);
  }
  const lost = f.http.lostBefore + f.http.lostAfter;
  const ulost = f.udp.lostBefore + f.udp.lostAfter;
  say(lost + ulost === 0
    ? `Nothing was lost outside the freeze: ${f.http.total} HTTP probes (${f.http.good} answered) and ${f.udp.total} datagrams (${f.udp.good} echoed).`
    : `Lost outside the freeze: ${lost} of ${f.http.total} HTTP probes and ${ulost} of ${f.udp.total} datagrams.`);
  say(`Undisturbed, an HTTP probe took ${formatMs(f.baseline.httpMs ?? NaN)} and a datagram's round trip ${formatMs(f.baseline.udpRttMs ?? NaN)} (userspace OVS on a shared machine).`);
  say('');
  const by = m.committedBy === 'first-frame' ? "the container's first frame at its new port" : 'the commit call';
  say(`The flip to ${emu.to.node} was committed by ${by}${commitRaced ? ' (it arrived before the commit call did)' : ''} and took ${formatMs(m.flipLatencyMs ?? NaN)} from commit to the`);
  say(`last barrier reply${m.freeze && m.freeze.held > 0 ? ', the replay of the frames held during the freeze (below) included: they go out before the flip' : ''}.`);
  if (m.freeze) {
    say(`While web was frozen, ${m.freeze.held} frames for it reached ${emu.to.node} and were held by the controller; ${m.freeze.replayed} were replayed`);
    say(`in arrival order (per conversation) once its port appeared, ${m.freeze.dropped} dropped; ${m.freeze.passed ?? 0} of them, of new conversations, went on during the replay.`);
    say(`From the freeze to the first frame at the new port: ${formatMs(m.freeze.refractoryMs ?? NaN)}.`);
    if (f.tcp) say(`The long-lived TCP connection stalled ${formatMs(f.tcp.stallMs ?? NaN)} after the resume (retransmission timeouts in the client namespace, HTTP probes included: ${f.tcp.timeouts ?? '?'}).`);
  }
  say('For comparison, the ViNO paper measured about 15 s of downtime with learning switches and 9 s with a Ryu controller');
  say('(run `npm run bench:migration` for those schemes on this testbed).');
}

let overlay: Overlay | null = null;
let vino: VinoProcess | null = null;
let client: ProbeClient | null = null;
let interrupted = false;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the demo needs root: it makes network namespaces (run it as root after `bash scripts/setup`)');
  say('vino-controller demo: live migration of a container across regions, on an emulated testbed on this machine.');

  step('Bringing up the testbed for topologies/two-region.json: 7 nodes, each a network namespace with its own ovsdb-server and ovs-vswitchd');
  let t = monotonicMs();
  overlay = await Overlay.create('two-region.json');
  const ov = overlay;
  const nodes = Object.values(ov.topology.nodes);
  say(`  up in ${formatMs(monotonicMs() - t)}: ${nodes.map((n) => `${n.name} (${n.region})`).join(', ')}; underlay ${ov.bed.underlay.cidr}`);

  step(`Starting vino-controller: switches connect to ${ov.controllerHost}:${ov.controllerPort}, API on 127.0.0.1`);
  vino = await startVino({
    topologyFile: ov.topologyFile, ofHost: ov.controllerHost, ofPort: ov.controllerPort,
    stateFile: ov.file('vino-state.json'), logFile: ov.file('vino.log'), expectSwitches: 0,
  });
  say(`  listening; API http://${vino.apiListen}/api/v1 (log: JSON lines in ${vino.child.logFile}, copied to ${logsDir} at the end)`);

  step('Provisioning the overlay through OVSDB: a bridge per node (fail_mode secure, OpenFlow 1.3), VXLAN tunnels, controller target');
  t = monotonicMs();
  await ov.provision();
  await waitConnected(vino, nodes.length, 60_000);
  const tunnels = ov.topology.links.length;
  say(`  ${nodes.length} bridges and ${tunnels} VXLAN links provisioned; all ${nodes.length} switches connected to the controller in ${formatMs(monotonicMs() - t)}`);

  step('Starting the containers: web on h1 (CORE) runs an HTTP server and a UDP echo server; client on h4 (EDGE-TR1)');
  await ov.addContainers();
  await ov.startServer(CONTAINER, { http: 8080, udp: 7777 });
  const web = ov.topology.containers[CONTAINER]!;
  client = await ProbeClient.start(ov, { container: CLIENT, target: web.ip, expect: CONTAINER, outFile: ov.file('demo-client.json') });
  say(`  client → web (${web.ip}): a fresh HTTP connection every 10 ms and a UDP datagram every 1 ms on one flow`);
  await client.waitSteady(30_000);
  const observeFrom = monotonicMs();
  say('  web answers steadily; letting it run for 2 s before the migration');
  await sleep(2000);

  step(`Migrating web from h1 (CORE) to h3 (EDGE-TR1) through the controller's endpoint${values['auto-commit'] ? ' (auto-commit)' : ''}`);
  const events: Event[] = [];
  const prepareAt = monotonicMs();
  events.push({ at: prepareAt, who: 'orchestrator', what: `POST /api/v1/migrations {"container":"web","to":{"switch":"${TO}","port":"${web.port}"}}` });
  const prepared = await vino.api.prepare(CONTAINER, { switch: TO, port: web.port });
  events.push({ at: monotonicMs(), who: 'orchestrator', what: '201 prepared; freezing web (SIGSTOP)' });
  say(`  prepared in ${formatMs(monotonicMs() - prepareAt)}: frames for web now go to h1 and, as soon as its port appears, to h3`);
  const emu = await emulateMigration(ov.bed, CONTAINER, TO, {
    copyMs,
    // The freeze step, in the contract's order: web is stopped, its port still up; once the
    // freeze answers, the old host takes no more frames and what reaches h3 meanwhile is held.
    beforeUnplug: async () => {
      events.push({ at: monotonicMs(), who: 'orchestrator', what: `POST /api/v1/migrations/${prepared.id.slice(0, 8)}…/freeze` });
      await vino!.api.freeze(prepared.id);
    },
  });
  events.push(
    { at: emu.frozenAt, who: 'orchestrator', what: `web frozen (${emu.pids.length} process${emu.pids.length === 1 ? '' : 'es'})` },
    { at: emu.unpluggedAt, who: 'orchestrator', what: `port ${emu.from.portName} removed from ${FROM}; copying for ${copyMs} ms` },
    { at: emu.attachStartAt, who: 'orchestrator', what: `attaching web to ${TO} (same MAC and IP)` },
    { at: emu.attachedAt, who: 'orchestrator', what: `web attached to ${TO} as ${emu.to.portName}` },
    { at: emu.resumeAt, who: 'orchestrator', what: 'web resumed (SIGCONT)' },
  );
  let m: MigrationView;
  let raced = false;
  if (values['auto-commit']) {
    m = await vino.api.waitSettled(prepared.id, 30_000);
  } else {
    const at = monotonicMs();
    events.push({ at, who: 'orchestrator', what: `POST /api/v1/migrations/${prepared.id.slice(0, 8)}…/commit` });
    ({ migration: m, raced } = await commitOrJoin(vino.api, prepared.id));
    events.push({ at: monotonicMs(), who: 'orchestrator', what: raced ? '200: the first frame had committed it already (commit is idempotent)' : `200 committed (flipLatencyMs ${m.flipLatencyMs})` });
  }
  if (m.state !== 'committed') throw new Error(`the migration ended ${m.state}: ${m.error ?? 'no reason given'}`);
  const back = await client.waitFor((hb) => hb.httpOkAt !== null && hb.httpOkAt > emu.resumeAt && hb.udpEchoSentAt !== null && hb.udpEchoSentAt >= emu.resumeAt, 30_000);
  await sleep(1000);
  const record = await client.stop();
  client = null;
  const f = analyzeRun(record, { freezeAt: emu.freezeAt, resumeAt: emu.resumeAt }, { observeFrom });
  // reduce, not Math.max(...xs): one argument per request overflows the stack on long runs.
  const lastGood = record.http.done.reduce<number>((m, d, i) => (d !== null && record.http.ok[i] === 1 && d <= emu.resumeAt && d > m ? d : m), -Infinity);
  events.push({ at: lastGood, who: 'client', what: 'last HTTP answer before the freeze' });
  if (f.http.refractoryMs !== null) events.push({ at: emu.resumeAt + f.http.refractoryMs, who: 'client', what: 'first HTTP answer after the resume' });
  if (f.udp.refractoryMs !== null) events.push({ at: emu.resumeAt + f.udp.refractoryMs, who: 'client', what: 'first datagram sent after the resume that came back' });
  const full = await vino.api.migration(prepared.id);

  step('Timeline (ms from the prepare request)');
  printTimeline([...events, ...controllerEvents(full).filter((e) => e.what !== 'prepare requested')], prepareAt);

  step('What the client saw');
  narrative(f, emu, full, raced);
  if (!back) throw new Error('the client did not get answers from web after the migration within 30 s');
  const where = await vino.api.container(CONTAINER);
  say(`\nThe controller's location table now has web at ${where.node} port ${where.port ?? where.ofport}.`);
}

/** Copies the logs out of the testbed folder before it goes; synchronous so the signal path can use it too. */
function keepLogs(): void {
  if (!overlay) return;
  mkdirSync(logsDir, { recursive: true });
  const kept = ['vino.log', 'demo-client.json'].filter((f) => existsSync(overlay!.file(f)));
  for (const f of kept) copyFileSync(overlay.file(f), path.join(logsDir, f));
  say(`(${kept.length ? kept.join(' and ') : 'no logs'} kept in ${logsDir}: the testbed folder goes with the teardown)`);
}

async function teardown(): Promise<void> {
  client?.kill();
  keepLogs();
  await vino?.stop().catch(() => undefined);
  if (overlay) {
    step('Tearing down: controller stopped, namespaces, OVS daemons and links removed');
    await overlay.down();
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping and tearing everything down\n`);
    try {
      keepLogs();
    } catch (e) {
      process.stderr.write(`keeping the logs: ${(e as Error).message}\n`);
    }
    killAllChildren();
    // Testbed.up registered its own synchronous teardown of namespaces and daemons for signals.
    setImmediate(() => process.exit(130));
  });
}

main().then(
  async () => {
    await teardown();
    say('Done.');
    // Nothing of ours is left to wait for; a stray handle must not keep the demo hanging.
    process.exit(process.exitCode ?? 0);
  },
  async (err: unknown) => {
    process.stderr.write(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    if (vino) process.stderr.write(`controller log (last lines):\n${vino.child.tail(15)}\n`);
    try {
      await teardown();
    } catch (e) {
      process.stderr.write(`teardown: ${(e as Error).message}\n`);
    }
    process.exit(1);
  },
);
