/**
 * Capturing real Open vSwitch OpenFlow traffic for the codec cross-check
 * (test/openflow/ovs-crosscheck.test.ts), in both directions:
 *
 *  - `FakeSwitch` plays a switch on 127.0.0.1 for `ovs-ofctl -O OpenFlow13 ... tcp:127.0.0.1:PORT`
 *    and records every message ovs-ofctl sends (controller → switch).
 *  - `OvsSandbox` runs ovsdb-server + ovs-vswitchd (userspace datapath) in a private temp dir;
 *    `FakeController` is the controller its bridge connects to, and records every message
 *    ovs-vswitchd sends (switch → controller).
 *
 * Nothing here uses the codec under test: messages are framed and built from raw bytes, so a
 * codec bug cannot hide itself by also corrupting the capture. Every process started here is
 * killed, and every temp dir and network device removed, by `Cleanup.run` (called from tap
 * teardown, and also on SIGINT/SIGTERM/exit so an aborted run leaves nothing behind).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Raw OpenFlow bytes (independent of src/openflow).

export const OFPT = {
  HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, EXPERIMENTER: 4, FEATURES_REQUEST: 5,
  FEATURES_REPLY: 6, GET_CONFIG_REQUEST: 7, GET_CONFIG_REPLY: 8, SET_CONFIG: 9, PACKET_IN: 10,
  FLOW_REMOVED: 11, PORT_STATUS: 12, PACKET_OUT: 13, FLOW_MOD: 14, GROUP_MOD: 15, PORT_MOD: 16,
  TABLE_MOD: 17, MULTIPART_REQUEST: 18, MULTIPART_REPLY: 19, BARRIER_REQUEST: 20, BARRIER_REPLY: 21,
  QUEUE_GET_CONFIG_REQUEST: 22, QUEUE_GET_CONFIG_REPLY: 23, ROLE_REQUEST: 24, ROLE_REPLY: 25,
  GET_ASYNC_REQUEST: 26, GET_ASYNC_REPLY: 27, SET_ASYNC: 28, METER_MOD: 29,
} as const;

/** An OpenFlow 1.3 message: header + body. */
export function ofp(type: number, xid: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(8 + body.length);
  b[0] = 4;
  b[1] = type;
  b.writeUInt16BE(b.length, 2);
  b.writeUInt32BE(xid >>> 0, 4);
  body.copy(b, 8);
  return b;
}

/** A copy of `msg` with its xid replaced. */
export function withXid(msg: Buffer, xid: number): Buffer {
  const b = Buffer.from(msg);
  b.writeUInt32BE(xid >>> 0, 4);
  return b;
}

export const msgType = (m: Buffer): number => m[1]!;
export const msgXid = (m: Buffer): number => m.readUInt32BE(4);
/** The multipart type of a MULTIPART_REQUEST/REPLY. */
export const mpType = (m: Buffer): number => m.readUInt16BE(8);
const mpMore = (m: Buffer): boolean => (m.readUInt16BE(10) & 1) !== 0;

/** Cuts a byte stream into messages by the header length; keeps the incomplete tail. */
class RawSplitter {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt16BE(2);
      if (len < 8) throw new Error(`peer sent a header with length ${len}: ${this.buf.subarray(0, 8).toString('hex')}`);
      if (this.buf.length < len) break;
      out.push(Buffer.from(this.buf.subarray(0, len)));
      this.buf = this.buf.subarray(len);
    }
    return out;
  }
}

/** HELLO with a version bitmap of {1.3}, as a 1.3-only peer sends it. */
export function helloOf13(xid: number): Buffer {
  return ofp(OFPT.HELLO, xid, Buffer.from('0001000800000010', 'hex'));
}

// ---------------------------------------------------------------------------------------------
// Cleanup of processes, devices and directories, also when the test run is aborted.

export class Cleanup {
  private static tasks: Array<{ name: string; run: () => void }> = [];
  private static hooked = false;

  /** Registers a synchronous cleanup step; returns a function that runs it now (once). */
  static add(name: string, run: () => void): () => void {
    Cleanup.hook();
    const task = { name, run };
    Cleanup.tasks.push(task);
    return () => {
      const i = Cleanup.tasks.indexOf(task);
      if (i >= 0) {
        Cleanup.tasks.splice(i, 1);
        Cleanup.safe(task);
      }
    };
  }

  /** Runs every registered step, newest first. */
  static runAll(): void {
    while (Cleanup.tasks.length > 0) Cleanup.safe(Cleanup.tasks.pop()!);
  }

  private static safe(task: { name: string; run: () => void }): void {
    try {
      task.run();
    } catch (err) {
      process.stderr.write(`cleanup "${task.name}" failed: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }

  private static hook(): void {
    if (Cleanup.hooked) return;
    Cleanup.hooked = true;
    process.once('exit', () => Cleanup.runAll());
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        Cleanup.runAll();
        process.kill(process.pid, sig);
      });
    }
  }
}

/** A temp dir removed by Cleanup. */
export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: Cleanup.add(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true })) };
}

function killProcess(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by us after `timeoutMs`. */
  timedOut: boolean;
}

/** Runs a program to completion (killing it after `timeoutMs`), with its output. */
export function run(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const done = Cleanup.add(`kill ${cmd} ${child.pid}`, () => killProcess(child));
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      killProcess(child);
    }, opts.timeoutMs ?? 15_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      done();
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** Like `run`, but throws (with the output) unless the program exits 0. */
export async function runOk(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`}):\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

function hasProgram(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the live OVS tests cannot run here, or undefined if they can. */
export function ovsUnavailableReason(): string | undefined {
  for (const p of ['ovs-ofctl', 'ovs-vsctl', 'ovs-appctl', 'ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ip']) {
    if (!hasProgram(p)) return `${p} is not installed`;
  }
  if (process.getuid?.() !== 0) return 'ovs-vswitchd needs root (tap devices)';
  if (!existsSync('/usr/share/openvswitch/vswitch.ovsschema')) return 'vswitch.ovsschema not found';
  return undefined;
}

/**
 * True when ofp-print reported that it could not decode the message: it marks every problem
 * ("***decode error: ...***", "(***truncated to ...***)", "***parse error***") with asterisks.
 */
export function ofpPrintFailed(text: string): boolean {
  return text.includes('***');
}

// ---------------------------------------------------------------------------------------------
// FakeSwitch: answers ovs-ofctl like a small OpenFlow 1.3 switch and records what it sends.

export interface Received {
  /** Connection number (ovs-ofctl opens several connections for some commands). */
  conn: number;
  bytes: Buffer;
}

/** The ports the fake switch reports (mod-port needs their names and addresses). */
export const FAKE_PORTS = [
  { no: 1, name: 'p1', mac: '020000000001' },
  { no: 2, name: 'p2', mac: '020000000002' },
  { no: 0xfffffffe, name: 'br0', mac: '020000000000' },
];

function portDescBody(): Buffer {
  const parts = FAKE_PORTS.map((p) => {
    const b = Buffer.alloc(64);
    b.writeUInt32BE(p.no >>> 0, 0);
    Buffer.from(p.mac, 'hex').copy(b, 8);
    b.write(p.name, 16, 'latin1');
    b.writeUInt32BE(0, 32); // config
    b.writeUInt32BE(4, 36); // state: LIVE
    b.writeUInt32BE(0x2000 | 0x800, 40); // curr: COPPER, 10GB_FD
    b.writeUInt32BE(10_000_000, 56);
    b.writeUInt32BE(10_000_000, 60);
    return b;
  });
  return Buffer.concat(parts);
}

/** One ofp_table_features entry for table 0 with the properties ovs-ofctl requires. */
function tableFeaturesBody(): Buffer {
  const props = [0, 2, 4, 6, 8, 10, 12, 14].map((type) => {
    const p = Buffer.alloc(8);
    p.writeUInt16BE(type, 0);
    p.writeUInt16BE(4, 2); // an empty list: header only, padded to 8
    return p;
  });
  const head = Buffer.alloc(64);
  head.writeUInt16BE(64 + props.length * 8, 0);
  head[2] = 0;
  head.write('classifier', 8, 'latin1');
  head.writeBigUInt64BE(0xffffffffffffffffn, 40);
  head.writeBigUInt64BE(0xffffffffffffffffn, 48);
  head.writeUInt32BE(0, 56);
  head.writeUInt32BE(1_000_000, 60);
  return Buffer.concat([head, ...props]);
}

function fixedString(s: string, width: number): Buffer {
  const b = Buffer.alloc(width);
  b.write(s, 0, 'latin1');
  return b;
}

function multipartReplyBody(mp: number): Buffer | undefined {
  switch (mp) {
    case 0: // DESC
      return Buffer.concat([fixedString('vino fake switch', 256), fixedString('none', 256), fixedString('0', 256), fixedString('1', 32), fixedString('capture', 256)]);
    case 2: // AGGREGATE: packets, bytes, flows
      return Buffer.from('000000000000000a00000000000003e80000000300000000', 'hex');
    case 8: { // GROUP_FEATURES: all four types, 16 groups each, OUTPUT|GROUP actions
      const b = Buffer.alloc(40);
      b.writeUInt32BE(0xf, 0);
      b.writeUInt32BE(0x1, 4);
      for (let i = 0; i < 4; i++) b.writeUInt32BE(16, 8 + 4 * i);
      for (let i = 0; i < 4; i++) b.writeUInt32BE(0x1 | 0x400000, 24 + 4 * i);
      return b;
    }
    case 11: // METER_FEATURES: 64 meters, DROP|DSCP_REMARK, KBPS|PKTPS|BURST|STATS, 1 band
      return Buffer.from('00000040000000060000000f01000000', 'hex');
    case 12:
      return tableFeaturesBody();
    case 13:
      return portDescBody();
    case 1: case 3: case 4: case 5: case 6: case 7: case 9: case 10:
      return Buffer.alloc(0); // an empty list of entries
    default:
      return undefined;
  }
}

function errorReply(req: Buffer, type: number, code: number): Buffer {
  const body = Buffer.alloc(4);
  body.writeUInt16BE(type, 0);
  body.writeUInt16BE(code, 2);
  return ofp(OFPT.ERROR, msgXid(req), Buffer.concat([body, req.subarray(0, Math.min(req.length, 64))]));
}

/** The switch's answer to one request from ovs-ofctl (undefined: no answer). */
function switchAnswer(m: Buffer, config: Buffer): Buffer | undefined {
  const xid = msgXid(m);
  switch (msgType(m)) {
    case OFPT.ECHO_REQUEST:
      return ofp(OFPT.ECHO_REPLY, xid, m.subarray(8));
    case OFPT.FEATURES_REQUEST:
      return ofp(OFPT.FEATURES_REPLY, xid, Buffer.from('0000aabbccddeeff00000000fe0000000000004f00000000', 'hex'));
    case OFPT.GET_CONFIG_REQUEST:
      return ofp(OFPT.GET_CONFIG_REPLY, xid, config);
    case OFPT.BARRIER_REQUEST:
      return ofp(OFPT.BARRIER_REPLY, xid);
    case OFPT.ROLE_REQUEST:
      return ofp(OFPT.ROLE_REPLY, xid, m.subarray(8));
    case OFPT.GET_ASYNC_REQUEST:
      return ofp(OFPT.GET_ASYNC_REPLY, xid, Buffer.from('00000007' + '00000000' + '00000007' + '00000007' + '0000000f' + '00000000', 'hex'));
    case OFPT.QUEUE_GET_CONFIG_REQUEST:
      return ofp(OFPT.QUEUE_GET_CONFIG_REPLY, xid, Buffer.concat([m.subarray(8, 12), Buffer.alloc(4)]));
    case OFPT.MULTIPART_REQUEST: {
      const mp = mpType(m);
      const body = multipartReplyBody(mp);
      if (!body) return errorReply(m, 1, 2); // BAD_REQUEST/BAD_MULTIPART
      const head = Buffer.alloc(8);
      head.writeUInt16BE(mp, 0);
      return ofp(OFPT.MULTIPART_REPLY, xid, Buffer.concat([head, body]));
    }
    default:
      return undefined;
  }
}

/** A TCP server on a free port of 127.0.0.1 (the fake switch's and the fake controller's). */
export function listenOnLoopback(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no TCP address'));
      resolve({ server, port: addr.port });
    });
  });
}

export class FakeSwitch {
  readonly received: Received[] = [];
  private conns = new Set<Socket>();
  private nextConn = 0;
  private idleWaiters: Array<() => void> = [];
  /** ofp_switch_config body as last set (ovs-ofctl set-frags reads it back). */
  private config = Buffer.from('0000ffff', 'hex');

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeSwitch> {
    const { server, port } = await listenOnLoopback();
    const sw = new FakeSwitch(server, port);
    server.on('connection', (s) => sw.accept(s));
    Cleanup.add(`close fake switch :${port}`, () => sw.closeNow());
    return sw;
  }

  get target(): string {
    return `tcp:127.0.0.1:${this.port}`;
  }

  private accept(s: Socket): void {
    const conn = this.nextConn++;
    this.conns.add(s);
    const splitter = new RawSplitter();
    s.write(helloOf13(1));
    s.on('data', (chunk: Buffer) => {
      let msgs: Buffer[];
      try {
        msgs = splitter.push(chunk);
      } catch (err) {
        this.received.push({ conn, bytes: chunk });
        s.destroy();
        return;
      }
      for (const m of msgs) {
        this.received.push({ conn, bytes: m });
        if (msgType(m) === OFPT.SET_CONFIG && m.length === 12) this.config = Buffer.from(m.subarray(8, 12));
        const answer = switchAnswer(m, this.config);
        if (answer) s.write(answer);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      this.conns.delete(s);
      if (this.conns.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  /** Resolves once every connection is closed (ovs-ofctl exited and its data was read). */
  idle(timeoutMs = 3000): Promise<void> {
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.conns) s.destroy();
        resolve();
      }, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private closeNow(): void {
    for (const s of this.conns) s.destroy();
    this.server.close();
  }

  close(): Promise<void> {
    this.closeNow();
    return Promise.resolve();
  }
}

// ---------------------------------------------------------------------------------------------
// OvsSandbox: a private ovsdb-server + ovs-vswitchd.

/** A name for an OVS bridge/port/tap: unique per process and run, at most 15 characters. */
export function uniqueIfName(tag: string): string {
  const rand = Math.floor(Math.random() * 36 ** 3).toString(36).padStart(3, '0');
  return `vx${tag}${(process.pid % 36 ** 4).toString(36)}${rand}`.slice(0, 15);
}

export class OvsSandbox {
  readonly env: NodeJS.ProcessEnv;
  readonly dbSock: string;
  readonly vswitchdCtl: string;
  /** Interfaces this sandbox may have created in the kernel (deleted at cleanup). */
  private readonly devices = new Set<string>();
  private procs: ChildProcess[] = [];
  private stopped = false;

  private constructor(readonly dir: string) {
    this.env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir };
    this.dbSock = join(dir, 'db.sock');
    this.vswitchdCtl = join(dir, 'vswitchd.ctl');
  }

  /** Starts ovsdb-server and ovs-vswitchd in a new temp dir. */
  static async start(): Promise<OvsSandbox> {
    const { dir } = makeTempDir('vino-ovs-');
    const sb = new OvsSandbox(dir);
    Cleanup.add(`stop OVS sandbox ${dir}`, () => sb.stopNow());
    await runOk('ovsdb-tool', ['create', join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema'], { env: sb.env });
    sb.spawnDaemon('ovsdb-server', [
      join(dir, 'conf.db'), `--remote=punix:${sb.dbSock}`, `--unixctl=${join(dir, 'ovsdb-server.ctl')}`,
      `--log-file=${join(dir, 'ovsdb-server.log')}`, '--no-chdir', '-vconsole:off',
    ]);
    await sb.waitForFile(sb.dbSock, 'ovsdb-server socket');
    await sb.vsctl('--no-wait', 'init');
    sb.spawnDaemon('ovs-vswitchd', [
      `unix:${sb.dbSock}`, `--unixctl=${sb.vswitchdCtl}`, `--log-file=${join(dir, 'ovs-vswitchd.log')}`,
      '--no-chdir', '-vconsole:off',
    ]);
    await sb.waitForFile(sb.vswitchdCtl, 'ovs-vswitchd control socket');
    return sb;
  }

  private spawnDaemon(cmd: string, args: string[]): void {
    const child = spawn(cmd, args, { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code, signal) => {
      if (!this.stopped) process.stderr.write(`${cmd} exited early (${code ?? signal}): ${stderr}\n`);
    });
    this.procs.push(child);
  }

  private async waitForFile(path: string, what: string, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!existsSync(path)) {
      for (const p of this.procs) {
        if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${what}: ${p.spawnargs[0]} exited (see ${this.dir})`);
      }
      if (Date.now() > until) throw new Error(`${what} did not appear at ${path} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  vsctl(...args: string[]): Promise<string> {
    return runOk('ovs-vsctl', [`--db=unix:${this.dbSock}`, '--timeout=20', ...args], { env: this.env, timeoutMs: 25_000 });
  }

  appctl(...args: string[]): Promise<string> {
    return runOk('ovs-appctl', ['-t', this.vswitchdCtl, ...args], { env: this.env });
  }

  /** The bridge's management socket (what `ovs-ofctl <cmd> <bridge>` would use). */
  mgmt(bridge: string): string {
    return `unix:${join(this.dir, `${bridge}.mgmt`)}`;
  }

  /** Runs `ovs-ofctl -O OpenFlow13 <cmd> unix:<bridge.mgmt> args...`. */
  ofctl(bridge: string, cmd: string, ...args: string[]): Promise<string> {
    return runOk('ovs-ofctl', ['-O', 'OpenFlow13', cmd, this.mgmt(bridge), ...args], { env: this.env });
  }

  /**
   * Adds a userspace (netdev) bridge speaking only OpenFlow 1.3, in secure fail mode, with
   * the given controller target.
   */
  async addBridge(name: string, controller: string): Promise<void> {
    this.devices.add(name);
    await this.vsctl(
      'add-br', name, '--', 'set', 'bridge', name, 'datapath_type=netdev', 'protocols=OpenFlow13', 'fail_mode=secure',
      'other-config:disable-in-band=true', '--', 'set-controller', name, controller,
    );
  }

  /** Adds an internal port (a tap device in the userspace datapath) with a fixed OpenFlow port number. */
  async addInternalPort(bridge: string, name: string, ofport: number): Promise<void> {
    this.devices.add(name);
    await this.vsctl('add-port', bridge, name, '--', 'set', 'interface', name, 'type=internal', `ofport_request=${ofport}`);
  }

  async delPort(bridge: string, name: string): Promise<void> {
    await this.vsctl('del-port', bridge, name);
  }

  /** Kills the daemons and removes what they created (synchronous: also runs at process exit). */
  private stopNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const p of this.procs) {
      if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) {
        try {
          process.kill(p.pid, 'SIGTERM');
        } catch {
          // gone
        }
      }
    }
    // Give them a moment to release their taps, then make sure.
    const until = Date.now() + 2000;
    while (Date.now() < until && this.procs.some((p) => isAlive(p.pid))) sleepSync(20);
    for (const p of this.procs) if (isAlive(p.pid)) killProcess(p);
    // Userspace-datapath taps are persistent: remove the ones we made.
    for (const dev of this.devices) {
      try {
        execFileSync('ip', ['link', 'del', dev], { stdio: 'ignore' });
      } catch {
        // did not exist, or already removed with its bridge
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  stop(): void {
    this.stopNow();
  }
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// ---------------------------------------------------------------------------------------------
// FakeController: the controller an OVS bridge connects to.

export interface Logged {
  /** ms since the controller started. */
  at: number;
  bytes: Buffer;
}

export class FakeController {
  readonly received: Logged[] = [];
  private socket: Socket | undefined;
  private waiters: Array<() => void> = [];
  private nextXid = 0x1000;
  private readonly t0 = Date.now();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async listen(): Promise<FakeController> {
    const { server, port } = await listenOnLoopback();
    const c = new FakeController(server, port);
    server.on('connection', (s) => c.accept(s));
    Cleanup.add(`close fake controller :${port}`, () => c.close());
    return c;
  }

  get target(): string {
    return `tcp:127.0.0.1:${this.port}`;
  }

  private accept(s: Socket): void {
    if (this.socket) {
      // One switch connection at a time: a reconnect replaces the old one.
      this.socket.destroy();
    }
    this.socket = s;
    const splitter = new RawSplitter();
    s.write(helloOf13(0));
    s.on('data', (chunk: Buffer) => {
      for (const m of splitter.push(chunk)) {
        this.received.push({ at: Date.now() - this.t0, bytes: m });
        // Keep the connection alive whatever the test is doing.
        if (msgType(m) === OFPT.ECHO_REQUEST) s.write(ofp(OFPT.ECHO_REPLY, msgXid(m), m.subarray(8)));
      }
      for (const w of this.waiters.splice(0)) w();
    });
    s.on('error', () => undefined);
  }

  /** Resolves with the first message (from index `from` of the log) that satisfies `pred`. */
  async waitFor(pred: (m: Buffer) => boolean, what: string, timeoutMs = 10_000, from = 0): Promise<Buffer> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.received.length; i++) if (pred(this.received[i]!.bytes)) return this.received[i]!.bytes;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(msg: Buffer): void {
    if (!this.socket) throw new Error('no switch connected');
    this.socket.write(msg);
  }

  /**
   * Sends `msg` with a fresh xid and returns what the switch answered with that xid:
   * `single` waits for one reply; `multipart` for replies until one without the MORE flag;
   * `none` sends a barrier after it and returns any ERROR the message caused.
   */
  async call(msg: Buffer, mode: 'single' | 'multipart' | 'none', timeoutMs = 10_000): Promise<Buffer[]> {
    const xid = this.nextXid++;
    const from = this.received.length;
    this.send(withXid(msg, xid));
    if (mode === 'none') {
      const bxid = this.nextXid++;
      this.send(ofp(OFPT.BARRIER_REQUEST, bxid));
      await this.waitFor((m) => msgXid(m) === bxid && msgType(m) === OFPT.BARRIER_REPLY, `barrier reply ${bxid}`, timeoutMs, from);
      return this.since(from).filter((m) => msgXid(m) === xid);
    }
    if (mode === 'single') {
      return [await this.waitFor((m) => msgXid(m) === xid, `reply to xid ${xid} (type ${msgType(msg)})`, timeoutMs, from)];
    }
    await this.waitFor(
      (m) => msgXid(m) === xid && (msgType(m) === OFPT.ERROR || (msgType(m) === OFPT.MULTIPART_REPLY && !mpMore(m))),
      `last multipart reply to xid ${xid}`, timeoutMs, from,
    );
    return this.since(from).filter((m) => msgXid(m) === xid);
  }

  since(from: number): Buffer[] {
    return this.received.slice(from).map((r) => r.bytes);
  }

  close(): void {
    this.socket?.destroy();
    this.server.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Batch printing: one ovs-ofctl process for many messages (each process costs ~0.1 s).

const SEPARATOR_XID = 0xfeedf00d;
const SEPARATOR_LINE = /^OFPT_BARRIER_REQUEST \(OF1\.3\) \(xid=0xfeedf00d\):\n/m;

/**
 * OVS's own decoding (`ovs-ofctl ofp-parse`) of each message, as text, in order. The messages
 * are written to one file with a BARRIER_REQUEST of a marker xid between them, whose printed
 * line splits the output again.
 */
export async function ofpPrintMany(msgs: readonly Buffer[], dir: string): Promise<string[]> {
  if (msgs.length === 0) return [];
  const sep = ofp(OFPT.BARRIER_REQUEST, SEPARATOR_XID);
  const parts: Buffer[] = [];
  for (const m of msgs) parts.push(m, sep);
  const file = join(dir, `ofp-parse-${process.pid}-${Math.random().toString(36).slice(2)}.bin`);
  writeFileSync(file, Buffer.concat(parts));
  try {
    const r = await run('ovs-ofctl', ['ofp-parse', file], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`ovs-ofctl ofp-parse failed (exit ${r.code}): ${r.stderr}`);
    const texts = r.stdout.split(SEPARATOR_LINE);
    // The output ends with the last separator, so the split leaves one empty tail.
    if (texts.length !== msgs.length + 1 || texts[msgs.length] !== '') {
      throw new Error(`ofp-parse printed ${texts.length - 1} messages for ${msgs.length}:\n${r.stdout.slice(0, 4000)}`);
    }
    return texts.slice(0, msgs.length);
  } finally {
    rmSync(file, { force: true });
  }
}
