/**
 * Controller load test in the manner of cbench (`npm run bench:ofload [-- OPTIONS]`): N emulated
 * switches connect over TCP to a controller running in its own process and send table-miss
 * PACKET_INs from new source MACs; the FLOW_MODs that come back are counted. Two modes:
 *  - throughput: each switch keeps WINDOW packet-ins outstanding (bounded, so nothing queues
 *    without limit); the figure is what the controller sustains;
 *  - latency: one outstanding packet-in per switch, the next sent when a FLOW_MOD answering it
 *    arrives; median and p99 of packet-in → answering FLOW_MOD.
 *
 * The same emulator, frames and modes measure vino and two baselines: Open vSwitch's own C
 * learning controller (`ovs-testcontroller -O OpenFlow13`, Debian openvswitch-testcontroller)
 * and os-ken (the maintained fork of Ryu) running a learning switch equal to Ryu's
 * simple_switch_13 (bench/baselines/simple_switch_13.py). All three speak OpenFlow 1.3 with the
 * emulated switches (they offer only 1.3 in their HELLO). Every measurement starts a fresh
 * controller process; the figures are medians over several rounds (the machine is shared).
 * A "ceiling" column, not a controller (bench/lib/ceiling-responder.ts), shows what the emulated
 * switches can take at all on this machine, so that a goal above it is reported as unmeasurable.
 *
 * The traffic: behind each switch sit hosts on a few edge ports (numbers outside the topology's
 * port plan). First one "anchor" host per edge port announces itself (broadcast frame); then
 * every packet-in comes from a MAC never seen before, addressed to the anchor behind another edge
 * port of the same switch. vino learns the new MAC and installs its flows on the switch it was
 * learned at (known source, local delivery, labelled delivery: forwarding by destination edge);
 * the learning switch knows the destination and installs an (in_port, src, dst) flow on that switch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveTopology } from '../src/topology/load.js';
import type { ResolvedTopology } from '../src/topology/types.js';
import { EmulatedSwitch } from './lib/emulated-switch.js';
import { atExit, freePort, median, quantile, sleep, startChild, type Child } from './lib/children.js';
import { formatProfile } from './lib/cpu-profile.js';
import { describeMachine } from './lib/timing.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OSKEN_MANAGER = '/usr/bin/osken-manager';
/** Debian's python, where python3-os-ken is installed (not a pyenv python earlier on PATH). */
const SYSTEM_PYTHON = '/usr/bin/python3';
const BASELINE_APP = join(ROOT, 'bench/baselines/simple_switch_13.py');
const OVS_TESTCONTROLLER = '/usr/bin/ovs-testcontroller';
const CEILING_RESPONDER = join(ROOT, 'dist/bench/lib/ceiling-responder.js');
const TARGET_FLOW_MODS = 200_000;
/** vino's answers/s over ovs-testcontroller's (throughput mode), and its mean RTT over vino's at most this. */
const TARGET_ANSWER_RATIO = 3;
const TARGET_MEAN_RTT_RATIO = 0.6;

const HELP = `Usage: npm run bench:ofload [-- OPTIONS]

  --switches N        emulated switches (default 16), a ring in the generated topology
  --edge-ports N      edge ports per switch carrying the traffic (default 4)
  --window N          throughput mode: packet-ins outstanding per switch (default 1000)
  --seconds S         measured time per measurement, warm-up excluded (default 10)
  --warmup S          warm-up before each measurement (default 2)
  --rounds N          rounds; each figure is the median over rounds (default 3)
  --controllers LIST  ceiling,vino,ovs-testcontroller,os-ken (default all four), and vino-base with --vino-base;
                      "ceiling" is not a controller: a responder that answers each PACKET_IN with a
                      precomputed PACKET_OUT of its frame, the most this load generator can measure here
  --vino-base DIR     another checkout of this repository, built (DIR/dist): its controller is measured as
                      "vino-base" in the same run (before/after comparisons on a busy machine)
  --modes LIST        throughput,latency (default both)
  --stall S           give up when nothing is answered for S seconds (default 10)
  --cpu-prof DIR      run vino under node --cpu-prof, profiles into DIR, print their top costs
  --keep              keep the temp folder (topology, controller logs)
  -v, --verbose       print the phases of each measurement with their times
`;

const CONTROLLERS = ['ceiling', 'vino', 'ovs-testcontroller', 'os-ken', 'vino-base'] as const;
type ControllerName = (typeof CONTROLLERS)[number];
type Mode = 'throughput' | 'latency';

interface Result {
  flowModsPerSec: number;
  answeredPerSec: number;
  packetOutsPerSec: number;
  /** Answers whose first sign at the switch was a PACKET_OUT carrying the frame. */
  answeredByPacketOutPerSec: number;
  meanUs: number;
  /** BARRIER_REQUESTs received by all switches per second (vino: one per switch per applied stage). */
  barriersPerSec: number;
  p50Us: number;
  p99Us: number;
  /** MACs the controller had learned from this run's packet-ins by the end (answered ones). */
  answeredTotal: number;
  /** CPU used during the measured time, in % of one core: the controller process, this process. */
  controllerCpu: number;
  emulatorCpu: number;
  /** The same counts per CPU-second the controller process used (robust on a busy machine). */
  flowModsPerCpuSec: number;
  answeredPerCpuSec: number;
  errors: string[];
}

/** user + system CPU seconds of a process so far (Linux /proc), NaN when unreadable. */
function procCpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm) ".
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

function opts() {
  const { values } = parseArgs({
    options: {
      switches: { type: 'string', default: '16' },
      'edge-ports': { type: 'string', default: '4' },
      window: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      controllers: { type: 'string', default: 'ceiling,vino,ovs-testcontroller,os-ken' },
      'vino-base': { type: 'string' },
      modes: { type: 'string', default: 'throughput,latency' },
      stall: { type: 'string', default: '10' },
      'cpu-prof': { type: 'string' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const int = (name: keyof typeof values, min: number, max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: expected an integer in ${min}..${max}, got "${String(values[name])}"`);
    return n;
  };
  const num = (name: keyof typeof values, min: number): number => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number >= ${min}, got "${String(values[name])}"`);
    return n;
  };
  const list = <K extends string>(name: 'controllers' | 'modes', allowed: readonly K[]): K[] => {
    const items = values[name]!.split(',').map((s) => s.trim()).filter(Boolean);
    for (const i of items) if (!allowed.includes(i as K)) throw new Error(`--${name}: unknown "${i}" (choose from ${allowed.join(', ')})`);
    if (items.length === 0) throw new Error(`--${name}: empty list`);
    return items as K[];
  };
  return {
    switches: int('switches', 1, 1000),
    edgePorts: int('edge-ports', 2, 80),
    window: int('window', 1, 100_000),
    seconds: num('seconds', 0.5),
    warmup: num('warmup', 0),
    rounds: int('rounds', 1, 100),
    controllers: list<ControllerName>('controllers', CONTROLLERS),
    modes: list<Mode>('modes', ['throughput', 'latency']),
    stall: num('stall', 1),
    cpuProf: values['cpu-prof'],
    vinoBase: values['vino-base'],
    keep: values.keep!,
    verbose: values.verbose!,
  };
}
type Options = ReturnType<typeof opts>;

/** N switches in a ring (a line for two, a single switch for one); no hosts, no containers. */
function ringTopology(n: number): { file: unknown; resolved: ResolvedTopology } {
  const names = Array.from({ length: n }, (_, i) => `s${i + 1}`);
  const links = n < 2 ? [] : names.slice(0, n === 2 ? 1 : n).map((s, i) => ({ switch: s, peer: names[(i + 1) % n]! }));
  const file = {
    name: `bench-ring-${n}`,
    description: `ofload benchmark: ${n} switches in a ring`,
    nodes: Object.fromEntries(names.map((s) => [s, { kind: 'switch', region: 'CORE' }])),
    links,
  };
  return { file, resolved: resolveTopology(file) };
}

/** How to run vino (of the checkout at `root`): its CLI once `vino-controller --topology` runs the controller, else our launcher. */
function vinoCommand(root = ROOT): { argv: string[]; via: string } {
  const cli = join(root, 'dist/controller/cli.js');
  const probe = spawnSync(process.execPath, [cli, '--topology', join(tmpdir(), 'vino-bench-no-such-file.json'), '--api-listen', 'off'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status === 2 && /unknown option/.test(probe.stderr)) {
    return { argv: [join(root, 'dist/bench/lib/vino-launcher.js')], via: join(root, 'dist/bench/lib/vino-launcher.js (startApp; the CLI has no default command yet)') };
  }
  return { argv: [cli, '--api-listen', 'off'], via: join(root, 'dist/controller/cli.js') };
}

class Bench {
  private readonly dir = mkdtempSync(join(tmpdir(), 'vino-ofload-'));
  private readonly topologyFile = join(this.dir, 'topology.json');
  private readonly vino = vinoCommand();
  private readonly vinoBase: { argv: string[]; via: string } | undefined;
  private profiles: string[] = [];

  constructor(readonly o: Options, readonly topology: ResolvedTopology, file: unknown) {
    this.vinoBase = o.vinoBase ? vinoCommand(o.vinoBase) : undefined;
    writeFileSync(this.topologyFile, JSON.stringify(file, null, 2));
    if (!o.keep) atExit(() => rmSync(this.dir, { recursive: true, force: true }));
  }

  describe(): string {
    const sw = Object.values(this.topology.nodes);
    const tunnels = sw.reduce((n, s) => n + s.bridge.ports.filter((p) => p.kind === 'tunnel').length, 0) / 2;
    return [
      `machine: ${describeMachine()}`,
      `topology: ${sw.length} switches in a ring (${tunnels} VXLAN links), ${this.o.edgePorts} edge ports per switch (ofport 10..${9 + this.o.edgePorts}); file ${this.topologyFile}${this.o.keep ? '' : ' (removed at exit; --keep keeps it)'}`,
      `vino:   node ${this.vino.via} --topology FILE --of-listen 127.0.0.1:PORT --log-level warn --audit-interval 0`,
      ...(this.vinoBase ? [`vino-base: node ${this.vinoBase.via} (same flags)`] : []),
      `os-ken: ${SYSTEM_PYTHON} ${OSKEN_MANAGER} --ofp-listen-host 127.0.0.1 --ofp-tcp-listen-port PORT bench/baselines/simple_switch_13.py (OpenFlow 1.3)`,
      `ovs-testcontroller: ${OVS_TESTCONTROLLER} -O OpenFlow13 --wildcards ptcp:PORT:127.0.0.1 (C learning switch; flows on in_port, eth_src, eth_dst; OpenFlow 1.3)`,
      `ceiling (not a controller): node ${CEILING_RESPONDER} --listen 127.0.0.1:PORT (each PACKET_IN answered by a precomputed PACKET_OUT of its frame, no decision, no flows: what the emulated switches can take)`,
      `each measurement: fresh controller process, handshake + anchor hosts, ${this.o.warmup} s warm-up, ${this.o.seconds} s measured; ${this.o.rounds} round(s), medians reported`,
      `throughput mode: ${this.o.window} packet-ins outstanding per switch; latency mode: 1 per switch`,
    ].join('\n');
  }

  private startController(name: ControllerName, port: number, tag: string): Child {
    const log = join(this.dir, `${tag}.log`);
    if (name === 'ceiling') return startChild([process.execPath, CEILING_RESPONDER, '--listen', `127.0.0.1:${port}`], log);
    if (name === 'ovs-testcontroller') {
      // Its own control socket (the default path is shared by every instance on the machine).
      return startChild([OVS_TESTCONTROLLER, '-O', 'OpenFlow13', '--wildcards', `--unixctl=${join(this.dir, `${tag}.ctl`)}`, '-vconsole:warn', `ptcp:${port}:127.0.0.1`], log);
    }
    if (name === 'os-ken') {
      return startChild([SYSTEM_PYTHON, OSKEN_MANAGER, '--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', String(port), BASELINE_APP], log);
    }
    const prof = this.o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', this.o.cpuProf, '--cpu-prof-name', `${tag}.cpuprofile`] : [];
    if (this.o.cpuProf) this.profiles.push(join(this.o.cpuProf, `${tag}.cpuprofile`));
    const vino = name === 'vino-base' ? this.vinoBase! : this.vino;
    // No periodic audit: it reads every switch back, and the emulated switches keep no flows, so
    // each audit would reinstall every flow learned so far (300k after 10 s) inside the measured
    // time; with real switches it costs a read-back and a full diff, not a packet-in cost either.
    return startChild([process.execPath, ...prof, ...vino.argv, '--topology', this.topologyFile, '--of-listen', `127.0.0.1:${port}`, '--log-level', 'warn', '--audit-interval', '0'], log);
  }

  async measure(name: ControllerName, mode: Mode, round: number): Promise<Result> {
    const port = await freePort();
    const tag = `${name}-${mode}-r${round}`;
    const child = this.startController(name, port, tag);
    let exitedEarly: string | undefined;
    let stopping = false;
    void child.exited.then(({ code, signal }) => {
      if (!stopping) exitedEarly = `${name} exited (${code ?? signal}) during the measurement; last log lines:\n${child.tail()}`;
    });
    const switches = Object.values(this.topology.nodes).map((node, index) => new EmulatedSwitch({
      index, datapathId: BigInt(`0x${node.bridge.dpid}`), bridgeName: node.bridge.name,
      ports: node.bridge.ports.map((p) => ({ ofport: p.ofport, name: p.name })),
      edgePorts: Array.from({ length: this.o.edgePorts }, (_, i) => 10 + i),
      readyAfter: name === 'ovs-testcontroller' ? 'features' : 'port-desc',
    }));
    const started = performance.now();
    const phase = (what: string) => {
      if (this.o.verbose) process.stderr.write(`  [${tag} +${((performance.now() - started) / 1000).toFixed(2)} s] ${what}\n`);
    };
    const fail = (what: string): never => {
      throw new Error(`${tag}: ${what}${exitedEarly ? `\n${exitedEarly}` : `\ncontroller log ${child.logFile}:\n${child.tail()}`}`);
    };
    const until = async (what: string, timeoutMs: number, cond: () => boolean): Promise<void> => {
      const deadline = performance.now() + timeoutMs;
      while (!cond()) {
        if (exitedEarly) fail(what);
        if (performance.now() > deadline) fail(`${what}: not within ${timeoutMs / 1000} s`);
        await sleep(20);
      }
    };
    const quiet = (ms: number) => () => performance.now() - Math.max(...switches.map((s) => s.lastRx)) >= ms;
    try {
      const deadline = performance.now() + 30_000;
      await Promise.all(switches.map((s) => s.connect('127.0.0.1', port, deadline)));
      phase('switches connected');
      let ready = 0;
      for (const s of switches) void s.ready.then(() => ready++);
      await until(`handshake (FEATURES${name === 'ovs-testcontroller' ? '' : ' + PORT_DESC'}) with every switch`, 30_000, () => ready === switches.length);
      phase('handshakes done');
      // Initial flows: every switch has some, then the controller falls silent.
      await until('initial flows on every switch', 60_000, () => switches.every((s) => s.counters.flowMods > 0) && quiet(500)());
      phase('initial flows installed');
      for (const s of switches) s.teachAnchors();
      await sleep(50);
      await until('anchor hosts learned', 60_000, quiet(500));

      const window = mode === 'throughput' ? this.o.window : 1;
      phase('anchor hosts learned; warming up');
      for (const s of switches) s.start(window);
      await this.run(switches, this.o.warmup * 1000, fail);
      const before = switches.map((s) => ({ ...s.counters }));
      for (const s of switches) {
        s.latencies = [];
        s.recording = true;
      }
      const cpu0 = { controller: procCpuSeconds(child.proc.pid), emulator: process.cpuUsage() };
      const t0 = performance.now();
      phase('measuring');
      await this.run(switches, this.o.seconds * 1000, fail);
      const secs = (performance.now() - t0) / 1000;
      const controllerCpuSecs = procCpuSeconds(child.proc.pid) - cpu0.controller;
      const controllerCpu = (100 * controllerCpuSecs) / secs;
      const em = process.cpuUsage(cpu0.emulator);
      const emulatorCpu = (em.user + em.system) / 1e4 / secs;
      const sum = (k: keyof EmulatedSwitch['counters']) => switches.reduce((n, s, i) => n + s.counters[k] - before[i]![k], 0);
      for (const s of switches) {
        s.recording = false;
        s.stop();
      }
      const lat = switches.flatMap((s) => s.latencies);
      return {
        flowModsPerSec: sum('flowMods') / secs,
        answeredPerSec: sum('answered') / secs,
        packetOutsPerSec: sum('packetOuts') / secs,
        answeredByPacketOutPerSec: sum('answeredByPacketOut') / secs,
        meanUs: lat.length ? lat.reduce((a, b) => a + b, 0) / lat.length : NaN,
        barriersPerSec: sum('barriers') / secs,
        p50Us: median(lat),
        p99Us: quantile(lat, 0.99),
        answeredTotal: switches.reduce((n, s) => n + s.counters.answered, 0),
        controllerCpu, emulatorCpu,
        flowModsPerCpuSec: sum('flowMods') / controllerCpuSecs,
        answeredPerCpuSec: sum('answered') / controllerCpuSecs,
        errors: switches.flatMap((s) => s.errors.map((e) => `${s.config.bridgeName}: ${e}`)),
      };
    } finally {
      for (const s of switches) s.close();
      stopping = true;
      phase('stopping the controller');
      const t = performance.now();
      // A profiled controller must exit by itself to write its profile.
      await child.stop(this.o.cpuProf ? 300_000 : 5_000);
      phase('controller stopped');
      const { code, signal } = await child.exited;
      // Python dies of SIGTERM by default; what matters is that nothing had to be killed.
      if (code !== 0 && signal !== 'SIGTERM' && !exitedEarly) process.stderr.write(`warning: ${tag}: ${name} had not exited ${((performance.now() - t) / 1000).toFixed(1)} s after SIGTERM (${signal === 'SIGKILL' ? 'killed' : `exit status ${code}`})\n`);
    }
  }

  /** Lets the switches run for `ms`, failing when nothing is answered for --stall seconds. */
  private async run(switches: EmulatedSwitch[], ms: number, fail: (what: string) => never): Promise<void> {
    const end = performance.now() + ms;
    let last = -1;
    let lastChange = performance.now();
    while (performance.now() < end) {
      await sleep(Math.min(100, Math.max(0, end - performance.now())));
      const answered = switches.reduce((n, s) => n + s.counters.answered, 0);
      if (answered !== last) {
        last = answered;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > this.o.stall * 1000) {
        const pending = switches.reduce((n, s) => n + s.pending.size, 0);
        fail(`no packet-in answered for ${this.o.stall} s (${pending} outstanding, ${answered} answered so far)`);
      }
      if (switches.some((s) => s.closed)) fail('the controller closed a switch connection');
    }
  }

  profileReport(): string {
    return this.profiles.filter((p) => existsSync(p)).map((p) => formatProfile(p)).join('\n\n');
  }
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

async function main(): Promise<void> {
  const o = opts();
  if (o.controllers.includes('vino-base') && !(o.vinoBase && existsSync(join(o.vinoBase, 'dist/controller/cli.js')))) {
    throw new Error('--controllers vino-base needs --vino-base DIR, a built checkout (DIR/dist/controller/cli.js)');
  }
  if (o.controllers.includes('os-ken') && (!existsSync(OSKEN_MANAGER) || !existsSync(SYSTEM_PYTHON))) {
    throw new Error(`the os-ken baseline needs Debian's os-ken (${OSKEN_MANAGER} run by ${SYSTEM_PYTHON}): apt-get install python3-os-ken, or leave os-ken out of --controllers`);
  }
  if (o.controllers.includes('ovs-testcontroller') && !existsSync(OVS_TESTCONTROLLER)) {
    throw new Error(`the ovs-testcontroller baseline needs ${OVS_TESTCONTROLLER}: apt-get install openvswitch-testcontroller, or leave it out of --controllers`);
  }
  const { file, resolved } = ringTopology(o.switches);
  const bench = new Bench(o, resolved, file);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out('ofload: PACKET_IN → answer (PACKET_OUT or forwarding flow), cbench style');
  out(bench.describe());
  out('');
  const results = new Map<string, Result[]>();
  for (let r = 1; r <= o.rounds; r++) {
    for (const mode of o.modes) {
      // Peers one after the other within a round, so load changes hit them alike.
      for (const name of o.controllers) {
        const res = await bench.measure(name, mode, r);
        const key = `${name}/${mode}`;
        (results.get(key) ?? results.set(key, []).get(key)!).push(res);
        out(`round ${r} ${mode.padEnd(10)} ${name.padEnd(18)}: ${fmt(res.answeredPerSec).padStart(8)} answered/s (${fmt(res.answeredByPacketOutPerSec)} first by PACKET_OUT), ${fmt(res.flowModsPerSec).padStart(9)} FLOW_MODs/s`
          + ` (${fmt(res.flowModsPerSec / res.answeredPerSec, 1)} per answer), ${fmt(res.packetOutsPerSec)} PACKET_OUTs/s, ${fmt(res.barriersPerSec)} BARRIERs/s, RTT mean ${fmt(res.meanUs)} µs p50 ${fmt(res.p50Us)} µs p99 ${fmt(res.p99Us)} µs,`
          + ` ${fmt(res.answeredTotal)} answered in the whole run; CPU: controller ${fmt(res.controllerCpu)}%, emulator ${fmt(res.emulatorCpu)}% of a core${res.errors.length ? `; ERRORS from the controller: ${res.errors.slice(0, 3).join('; ')}` : ''}`);
      }
    }
  }
  const med = (name: ControllerName, mode: Mode, f: (r: Result) => number) => {
    const rs = results.get(`${name}/${mode}`);
    return rs ? median(rs.map(f)) : NaN;
  };
  const rows: { label: string; mode: Mode; f: (r: Result) => number; lowerIsBetter?: boolean }[] = [
    { label: `window ${o.window}: answered/s`, mode: 'throughput', f: (r) => r.answeredPerSec },
    { label: `window ${o.window}: FLOW_MODs/s`, mode: 'throughput', f: (r) => r.flowModsPerSec },
    { label: `window ${o.window}: PACKET_OUTs/s`, mode: 'throughput', f: (r) => r.packetOutsPerSec },
    { label: `window ${o.window}: answered per controller CPU-s`, mode: 'throughput', f: (r) => r.answeredPerCpuSec },
    { label: `window ${o.window}: controller CPU % of a core`, mode: 'throughput', f: (r) => r.controllerCpu, lowerIsBetter: true },
    { label: 'window 1: answered/s', mode: 'latency', f: (r) => r.answeredPerSec },
    // Mean RTT is N switches outstanding / answered/s (Little's law): this is what the RTT is made of.
    { label: 'window 1: answered per controller CPU-s', mode: 'latency', f: (r) => r.answeredPerCpuSec },
    { label: 'window 1: RTT mean µs', mode: 'latency', f: (r) => r.meanUs, lowerIsBetter: true },
    { label: 'window 1: RTT p50 µs', mode: 'latency', f: (r) => r.p50Us, lowerIsBetter: true },
    { label: 'window 1: RTT p99 µs', mode: 'latency', f: (r) => r.p99Us, lowerIsBetter: true },
  ];
  // The ceiling is no peer: it gets a column, not a ratio.
  const peers = o.controllers.filter((c) => c !== 'vino' && c !== 'ceiling');
  out('');
  out(`medians of ${o.rounds} round(s), ${o.switches} switches; "vino/X": vino over peer X for rates, X over vino for latencies and CPU (above 1: vino better)`);
  out('  answered: a packet-in whose frame the switch got back in a PACKET_OUT, or whose source MAC got a flow (ADD/MODIFY');
  out('  matching it as eth_src or eth_dst) at the switch that sent it, whichever came first; RTT: packet-in sent → that answer.');
  out('  FLOW_MODs: every OFPT_FLOW_MOD received; vino installs 3 flows per new MAC on the switch it was learned at,');
  out('  a learning switch sends one FLOW_MOD and one PACKET_OUT per packet-in.');
  if (o.controllers.includes('ceiling')) {
    out('  ceiling: NOT A CONTROLLER. A responder that answers each PACKET_IN with a precomputed PACKET_OUT of its frame (no');
    out('  decision, no flows), in its own process: the most answers/s and the least RTT this load generator can show on this machine.');
  }
  const w = Math.max(...rows.map((r) => r.label.length));
  const cols = [...o.controllers, ...(o.controllers.includes('vino') ? peers.map((p) => `vino/${p}`) : [])];
  const cw = Math.max(12, ...cols.map((c) => c.length));
  out(`${''.padEnd(w)} | ${cols.map((c) => c.padStart(cw)).join(' | ')}`);
  out(`${'-'.repeat(w)}-|-${cols.map(() => '-'.repeat(cw)).join('-|-')}`);
  for (const row of rows) {
    if (!o.modes.includes(row.mode)) continue;
    const values = o.controllers.map((c) => fmt(med(c, row.mode, row.f)));
    const ratios = o.controllers.includes('vino') ? peers.map((p) => {
      const v = med('vino', row.mode, row.f);
      const b = med(p, row.mode, row.f);
      const ratio = row.lowerIsBetter ? b / v : v / b;
      return Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : 'n/a';
    }) : [];
    out(`${row.label.padEnd(w)} | ${[...values, ...ratios].map((c) => c.padStart(cw)).join(' | ')}`);
  }
  if (o.controllers.includes('vino')) {
    out('');
    if (o.modes.includes('throughput')) {
      const v = med('vino', 'throughput', (r) => r.flowModsPerSec);
      out(`target: vino >= ${fmt(TARGET_FLOW_MODS)} FLOW_MODs/s (window ${o.window}): ${v >= TARGET_FLOW_MODS ? 'MET' : 'NOT MET'} (${fmt(v)})`);
    }
    if (o.controllers.includes('ovs-testcontroller')) {
      if (o.modes.includes('throughput')) {
        const ratio = med('vino', 'throughput', (r) => r.answeredPerSec) / med('ovs-testcontroller', 'throughput', (r) => r.answeredPerSec);
        out(`target: vino >= ${TARGET_ANSWER_RATIO}× ovs-testcontroller in answered/s (window ${o.window}): ${ratio >= TARGET_ANSWER_RATIO ? 'MET' : 'NOT MET'} (${fmt(ratio, 2)}×)`);
      }
      if (o.modes.includes('latency')) {
        const ratio = med('vino', 'latency', (r) => r.meanUs) / med('ovs-testcontroller', 'latency', (r) => r.meanUs);
        out(`target: vino's mean RTT <= ${TARGET_MEAN_RTT_RATIO}× ovs-testcontroller's (window 1): ${ratio <= TARGET_MEAN_RTT_RATIO ? 'MET' : 'NOT MET'} (${fmt(ratio, 2)}×)`);
      }
    }
  }
  if (o.controllers.includes('ceiling') && o.controllers.includes('ovs-testcontroller')) {
    // A goal above what the emulated switches can take from a responder that costs nothing cannot be told apart here.
    if (o.modes.includes('throughput')) {
      const ceiling = med('ceiling', 'throughput', (r) => r.answeredPerSec);
      const goal = TARGET_ANSWER_RATIO * med('ovs-testcontroller', 'throughput', (r) => r.answeredPerSec);
      out(`measurable here? ${TARGET_ANSWER_RATIO}× ovs-testcontroller's answered/s is ${fmt(goal)}; the load generator's ceiling is ${fmt(ceiling)}: `
        + (ceiling >= goal ? 'yes' : 'NO, the goal is above what this bench can measure on this machine'));
    }
    if (o.modes.includes('latency')) {
      const ceiling = med('ceiling', 'latency', (r) => r.meanUs);
      const goal = TARGET_MEAN_RTT_RATIO * med('ovs-testcontroller', 'latency', (r) => r.meanUs);
      out(`measurable here? ${TARGET_MEAN_RTT_RATIO}× ovs-testcontroller's mean RTT is ${fmt(goal)} µs; the load generator's floor is ${fmt(ceiling)} µs: `
        + (ceiling <= goal ? 'yes' : 'NO, the goal is below what this bench can measure on this machine'));
    }
  }
  const prof = bench.profileReport();
  if (prof) out(`\n${prof}`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`ofload: ${err.message}\n`);
    process.exit(1);
  },
);
