/**
 * One node's Open vSwitch: its own ovsdb-server and ovs-vswitchd (userspace datapath) inside the
 * node's namespace, with every file under the node's folder.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { OvsdbClient, OvsdbRpcError, OvsdbTimeoutError, type Json } from '../src/ovsdb/index.js';
import { inNetns, isAlive, run, sleep } from './proc.js';

export const VSWITCH_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
/** sun_path is 108 bytes with the terminating NUL; the longest socket we make is the vswitchd control socket. */
const MAX_SOCKET_PATH = 107;

export function ovsEnvFor(dir: string): Record<string, string> {
  return { OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir };
}

export const dbSocket = (dir: string) => path.join(dir, 'db.sock');
export const vswitchdCtl = (dir: string, pid: number) => path.join(dir, `ovs-vswitchd.${pid}.ctl`);

export function checkSocketPaths(dir: string): void {
  const longest = path.join(dir, 'ovs-vswitchd.4194304.ctl');
  if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
    throw new Error(`testbed: folder ${dir} is too long for Unix socket paths (${longest} exceeds ${MAX_SOCKET_PATH} bytes); use a shorter base folder`);
  }
}

/**
 * A short session on one of a node's daemon sockets: ovsdb-server's database socket or a
 * daemon's control socket (what `ovs-appctl` talks to). Both speak JSON-RPC 1.0, so the OVSDB
 * client carries both; talking to the socket directly costs a fraction of spawning ovs-appctl,
 * which matters when warming N x N tunnel neighbours. No reconnect and no echo probe: a
 * control socket knows no `echo`, and a session lasts a few calls.
 */
export class DaemonSocket {
  private constructor(
    readonly path: string,
    private readonly client: OvsdbClient,
  ) {}

  static async open(socketPath: string, timeoutMs = 5000): Promise<DaemonSocket> {
    const client = await OvsdbClient.connect(`unix:${socketPath}`, { connectTimeout: timeoutMs, reconnect: false, echoInterval: 0 });
    return new DaemonSocket(socketPath, client);
  }

  /** One request; an error reply or a timeout names the socket (the client names it on connection errors). */
  async call(method: string, params: Json[], timeoutMs = 10_000): Promise<Json> {
    try {
      return await this.client.request(method, params, { timeout: timeoutMs });
    } catch (e) {
      if (e instanceof OvsdbRpcError || e instanceof OvsdbTimeoutError) throw new Error(`${this.path}: ${e.message}`, { cause: e });
      throw e;
    }
  }

  close(): void {
    // Not awaited: the daemon closes its end when it reads ours; nothing waits on that.
    void this.client.close();
  }
}

/** Connects, makes one call, closes. */
export async function daemonCall(socketPath: string, method: string, params: Json[], timeoutMs = 5000): Promise<Json> {
  const socket = await DaemonSocket.open(socketPath, timeoutMs);
  try {
    return await socket.call(method, params, timeoutMs);
  } finally {
    socket.close();
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Starts a daemon in `ns` as its own process group, detached from us (it may outlive a CLI run). */
function spawnDaemon(ns: string, argv: string[], env: Record<string, string>, stderrFile: string): number {
  const fd = openSync(stderrFile, 'a');
  try {
    const [file, ...args] = inNetns(ns, argv);
    const child = spawn(file!, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', fd], detached: true });
    if (child.pid === undefined) throw new Error(`testbed: cannot start ${argv[0]} in namespace ${ns}`);
    child.on('error', () => {}); // reported through the readiness wait
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export interface NodeOvs {
  dir: string;
  ovsdbServerPid: number;
  vswitchdPid: number;
}

/** Polls `check` until it resolves true; fails early when `pid` dies. */
async function waitFor(what: string, pid: number, logFiles: string[], timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const logs = () => logFiles.map((f) => tail(f)).filter(Boolean).join('\n');
  for (;;) {
    if (!isAlive(pid)) throw new Error(`testbed: ${what} exited during startup:\n${logs()}`);
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`testbed: ${what} not ready within ${timeoutMs} ms:\n${logs()}`);
    await sleep(25);
  }
}

export interface StartOvsHooks {
  /** Called as soon as a daemon's pid is known, so teardown can find it even if startup fails. */
  onPid(kind: 'ovsdb-server' | 'ovs-vswitchd', pid: number): void;
}

/**
 * Creates the database, starts ovsdb-server then ovs-vswitchd in namespace `ns`, and waits
 * until both answer on their sockets.
 */
export async function startOvs(ns: string, dir: string, hooks: StartOvsHooks, timeoutMs = 20_000): Promise<NodeOvs> {
  checkSocketPaths(dir);
  mkdirSync(dir, { recursive: true });
  const env = ovsEnvFor(dir);
  const db = path.join(dir, 'conf.db');
  const sock = dbSocket(dir);
  if (!existsSync(db)) await run(['ovsdb-tool', 'create', db, VSWITCH_SCHEMA], { env });
  const ovsdbServerPid = await startOvsdbServerDaemon(ns, dir, hooks, timeoutMs);
  // The root row, and fewer threads than the default (one per core) for a machine full of switches.
  await run(['ovs-vsctl', `--db=unix:${sock}`, '--no-wait', '--', 'init', '--', 'set', 'Open_vSwitch', '.',
    'other_config:n-handler-threads=1', 'other_config:n-revalidator-threads=1'], { env });
  const vswitchdPid = await startVswitchdDaemon(ns, dir, hooks, timeoutMs);
  return { dir, ovsdbServerPid, vswitchdPid };
}

const QUIET = ['--no-chdir', '-vconsole:off', '-vsyslog:off', '-vfile:info'];

/** Starts the node's ovsdb-server on its existing database (first start, or after a crash) and waits until it answers. */
export async function startOvsdbServerDaemon(ns: string, dir: string, hooks: StartOvsHooks, timeoutMs = 20_000): Promise<number> {
  const sock = dbSocket(dir);
  const pid = spawnDaemon(ns, ['ovsdb-server', path.join(dir, 'conf.db'), `--remote=punix:${sock}`, '--pidfile', '--log-file', ...QUIET], ovsEnvFor(dir), path.join(dir, 'ovsdb-server.stderr'));
  hooks.onPid('ovsdb-server', pid);
  await waitFor(`ovsdb-server in namespace ${ns}`, pid, [path.join(dir, 'ovsdb-server.stderr'), path.join(dir, 'ovsdb-server.log')], timeoutMs, async () => {
    try {
      const dbs = await daemonCall(sock, 'list_dbs', [], 2000);
      return Array.isArray(dbs) && dbs.includes('Open_vSwitch');
    } catch {
      return false;
    }
  });
  return pid;
}

/** Starts the node's ovs-vswitchd (first start, or after a crash) and waits until its control socket answers. */
export async function startVswitchdDaemon(ns: string, dir: string, hooks: StartOvsHooks, timeoutMs = 20_000): Promise<number> {
  // --disable-system: there is no OVS kernel module; only the netdev (userspace) datapath exists.
  // --disable-system-route: OVS's tunnel routes are ours (setUnderlayRoute), not copies of the
  // kernel's. With the kernel's, every link change in the namespace (a port added to any bridge,
  // a veth made or deleted) makes OVS flush and re-read them, and the flush takes the tunnel
  // end point's address out of its map of tunnel ports for a moment: a datapath flow re-translated
  // then (a revalidation, e.g. the port change's own) hands arriving VXLAN frames to br-phy's
  // kernel tap undecapsulated, and the kernel drops them (UDP NoPorts). Issue 17: a datagram lost
  // as the migrating container's new port was added.
  const pid = spawnDaemon(ns, ['ovs-vswitchd', `unix:${dbSocket(dir)}`, '--pidfile', '--log-file', '--disable-system', '--disable-system-route', ...QUIET], ovsEnvFor(dir), path.join(dir, 'ovs-vswitchd.stderr'));
  hooks.onPid('ovs-vswitchd', pid);
  const ctl = vswitchdCtl(dir, pid);
  await waitFor(`ovs-vswitchd in namespace ${ns}`, pid, [path.join(dir, 'ovs-vswitchd.stderr'), path.join(dir, 'ovs-vswitchd.log')], timeoutMs, async () => {
    if (!existsSync(ctl)) return false;
    try {
      await daemonCall(ctl, 'version', [], 2000);
      return true;
    } catch {
      return false;
    }
  });
  return pid;
}

/**
 * Routes the underlay subnet through `bridge` in OVS's own routing table (ovs/route/add): with
 * --disable-system-route it is the only route native tunnelling has. The bridge must already
 * hold its address in `cidr` (OVS takes the tunnels' source address from it).
 */
export async function setUnderlayRoute(ctl: string, cidr: string, bridge: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await daemonCall(ctl, 'ovs/route/add', [cidr, bridge]);
      return;
    } catch (e) {
      // "Error while inserting route": vswitchd has not yet read the address just put on the
      // bridge (it learns addresses from the kernel's notifications, in its main loop).
      if (Date.now() > deadline) throw new Error(`testbed: cannot route ${cidr} through ${bridge} in OVS (${ctl}): ${(e as Error).message}`, { cause: e });
      await sleep(20);
    }
  }
}

/** Sets tunnel neighbour entries on one node's vswitchd (one connection for all of them). */
export async function setTunnelNeighbours(ctl: string, bridge: string, entries: readonly { ip: string; mac: string }[]): Promise<void> {
  if (entries.length === 0) return;
  const socket = await DaemonSocket.open(ctl);
  try {
    for (const e of entries) await socket.call('tnl/neigh/set', [bridge, e.ip, e.mac]);
  } finally {
    socket.close();
  }
}
