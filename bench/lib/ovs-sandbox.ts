/**
 * A private Open vSwitch for a benchmark: ovsdb-server + ovs-vswitchd as children of this
 * process, every file (database, sockets, logs) in a fresh temp folder (own OVS_RUNDIR,
 * OVS_DBDIR, OVS_LOGDIR), userspace datapath only. Stopped, with its bridges' tap devices
 * removed and the folder deleted, when the benchmark ends, fails or is interrupted.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atExit, sleep, startChild, type Child } from './children.js';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

export interface RunResult {
  stdout: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

export class OvsSandbox {
  readonly env: NodeJS.ProcessEnv;
  readonly dbSock: string;
  private readonly daemons: Child[] = [];
  private readonly bridges: string[] = [];
  private removeAtExit?: () => void;
  private stopped = false;

  private constructor(readonly dir: string) {
    this.env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir };
    this.dbSock = join(dir, 'db.sock');
  }

  static async start(): Promise<OvsSandbox> {
    for (const tool of ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl']) {
      try {
        execFileSync(tool, ['--version'], { stdio: 'ignore' });
      } catch {
        throw new Error(`${tool} not found: install Open vSwitch (apt-get install openvswitch-switch)`);
      }
    }
    if (!existsSync(SCHEMA)) throw new Error(`OVS database schema ${SCHEMA} not found (package openvswitch-common)`);
    if (process.getuid?.() !== 0) throw new Error('ovs-vswitchd needs root (its userspace bridge opens a tap device)');
    const sb = new OvsSandbox(mkdtempSync(join(tmpdir(), 'vino-ovs-')));
    sb.removeAtExit = atExit(() => sb.stopNow());
    try {
      await sb.run('ovsdb-tool', ['create', join(sb.dir, 'conf.db'), SCHEMA]);
      sb.daemon('ovsdb-server', [join(sb.dir, 'conf.db'), `--remote=punix:${sb.dbSock}`, `--unixctl=${join(sb.dir, 'ovsdb-server.ctl')}`, '--no-chdir', '-vconsole:off', `--log-file=${join(sb.dir, 'ovsdb-server.log')}`]);
      await sb.waitFor(sb.dbSock, 'ovsdb-server socket');
      await sb.vsctl('--no-wait', 'init');
      const ctl = join(sb.dir, 'ovs-vswitchd.ctl');
      sb.daemon('ovs-vswitchd', [`unix:${sb.dbSock}`, `--unixctl=${ctl}`, '--no-chdir', '-vconsole:off', `--log-file=${join(sb.dir, 'ovs-vswitchd.log')}`]);
      await sb.waitFor(ctl, 'ovs-vswitchd control socket');
    } catch (err) {
      sb.stop();
      throw err;
    }
    return sb;
  }

  private daemon(cmd: string, args: string[]): void {
    this.daemons.push(startChild([cmd, ...args], join(this.dir, `${cmd}.out`), { env: this.env }));
  }

  private async waitFor(path: string, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(path)) {
      const dead = this.daemons.find((d) => d.proc.exitCode !== null || d.proc.signalCode !== null);
      if (dead) throw new Error(`${dead.proc.spawnargs[0]} exited while waiting for its ${what}:\n${dead.tail()}`);
      if (Date.now() > deadline) throw new Error(`${what} did not appear at ${path} within ${timeoutMs / 1000} s`);
      await sleep(25);
    }
  }

  /** Runs a command with the sandbox's environment; rejects with its stderr unless it exits 0. */
  run(cmd: string, args: string[], timeoutMs = 120_000): Promise<RunResult> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      execFile(cmd, args, { env: this.env, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve({ stdout, ms: performance.now() - t0 });
      });
    });
  }

  vsctl(...args: string[]): Promise<RunResult> {
    return this.run('ovs-vsctl', [`--db=unix:${this.dbSock}`, '--timeout=30', ...args]);
  }

  /** The bridge's management socket, what `ovs-ofctl CMD BRIDGE` connects to. */
  mgmt(bridge: string): string {
    return `unix:${join(this.dir, `${bridge}.mgmt`)}`;
  }

  ofctl(cmd: string, bridge: string, ...args: string[]): Promise<RunResult> {
    return this.run('ovs-ofctl', ['-O', 'OpenFlow13', cmd, this.mgmt(bridge), ...args]);
  }

  /** Userspace bridge speaking OpenFlow 1.3 only, secure fail mode (no flows but ours). */
  async addBridge(name: string, controller: string): Promise<void> {
    this.bridges.push(name);
    await this.vsctl('add-br', name, '--', 'set', 'bridge', name, 'datapath_type=netdev', 'protocols=OpenFlow13', 'fail_mode=secure',
      'other-config:disable-in-band=true', '--', 'set-controller', name, controller);
  }

  /** Number of flows in every table of `bridge`. */
  async flowCount(bridge: string): Promise<number> {
    const { stdout } = await this.ofctl('dump-aggregate', bridge);
    const m = /flow_count=(\d+)/.exec(stdout);
    if (!m) throw new Error(`ovs-ofctl dump-aggregate ${bridge}: no flow_count in "${stdout.trim()}"`);
    return Number(m[1]);
  }

  stop(): void {
    this.stopNow();
    this.removeAtExit?.();
  }

  /** Synchronous, so it also runs at exit and on Ctrl-C. */
  private stopNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const br of this.bridges) {
      try {
        execFileSync('ovs-vsctl', [`--db=unix:${this.dbSock}`, '--timeout=5', '--if-exists', 'del-br', br], { env: this.env, stdio: 'ignore' });
      } catch {
        // the daemons may be gone already
      }
    }
    for (const d of this.daemons) d.proc.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline && this.daemons.some((d) => isAlive(d.proc.pid))) {
      execFileSync('sleep', ['0.05']);
    }
    for (const d of this.daemons) if (isAlive(d.proc.pid)) d.proc.kill('SIGKILL');
    // The netdev bridge's local port is a tap device: gone with del-br, unless vswitchd died first.
    for (const br of this.bridges) {
      try {
        execFileSync('ip', ['link', 'del', br], { stdio: 'ignore' });
      } catch {
        // already removed
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Running (a zombie counts as gone: we cannot reap it while blocking the event loop). */
function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}
