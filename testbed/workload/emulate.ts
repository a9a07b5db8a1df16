/**
 * The emulated live migration of a testbed container (a namespace whose processes are the
 * service, with a veth into its host's bridge):
 *
 *   freeze   SIGSTOP every process of the container (what a checkpoint does first); then
 *            `beforeUnplug` (a controller's freeze step: once it answers, the old host takes
 *            no more frames, so the unplug loses none);
 *   unplug   remove its port from the old host's bridge (the old copy is gone);
 *   copy     wait the copy time (memory transfer; default 200 ms);
 *   attach   a new veth into the new host's bridge, same MAC and IP, same namespace, so the
 *            very processes and their sockets carry on (testbed.moveContainer);
 *   resume   SIGCONT.
 *
 * The container says nothing after the move (no gratuitous ARP: arp_notify off, IPv6 off)
 * unless `announce` asks for it; then it sends one gratuitous ARP from inside (arping -U), as
 * a migration tool that announces the move would.
 *
 * Its neighbour (ARP) cache moves with it: a live migration carries the kernel's state, while
 * re-creating the veth would empty the cache and make the first answer after the resume wait
 * for an address resolution that a real migration does not do. The entries are read before the
 * unplug and put back, as STALE (usable at once, re-confirmed by the kernel later), before the
 * resume. `keepNeighbours: false` leaves the cache empty instead.
 *
 * Why not CRIU: Debian's criu (3.17) cannot start on this kernel ("vdso: Unexpected rt vDSO area
 * bounds", checkpoint-restore/criu#2532, fixed in later releases); freezing the processes and
 * moving the namespace's interface is what the network sees of a migration anyway.
 */
import type { Testbed } from '../index.js';
import { CONTAINER_IF } from '../names.js';
import { monotonicMs, sleep } from './processes.js';

export interface EmulateOptions {
  /** Time between unplug and attach (the memory copy). Default 200 ms. */
  copyMs?: number;
  /** Send a gratuitous ARP from inside the container right after the resume. Default false. */
  announce?: boolean;
  /** Port name on the new host (default: the current one). */
  portName?: string;
  /** OpenFlow port to request there (default: the current one). */
  ofport?: number;
  /** Carry the neighbour cache over (default true). */
  keepNeighbours?: boolean;
  /**
   * Runs with the processes stopped, before the old link is cut: the orchestrator's freeze step
   * (prepare → freeze → move → commit), which answers once the old host takes no more frames.
   */
  beforeUnplug?: () => Promise<void>;
  /** Runs once the old port is gone (a freeze step told only after the cut, as by the old port going down). */
  afterUnplug?: () => Promise<void>;
  /** Runs after the attach and before the resume (a controller could be told here). */
  beforeResume?: () => Promise<void>;
}

/** Milestones of one emulated migration, CLOCK_MONOTONIC ms. */
export interface EmulatedMigration {
  container: string;
  from: { node: string; portName: string };
  to: { node: string; portName: string };
  freezeAt: number;
  frozenAt: number;
  unpluggedAt: number;
  attachStartAt: number;
  attachedAt: number;
  resumeAt: number;
  /** When the gratuitous ARP was sent (only with `announce`). */
  announcedAt: number | null;
  /** Processes stopped and resumed. */
  pids: number[];
  /** Neighbour entries carried over. */
  neighbours: number;
}

/**
 * SIGCONTs the frozen processes now and returns that moment. testbed.thaw (called after, for
 * anything forked meanwhile) first scans /proc, which under load takes long enough for the
 * service to answer before it returns: the resume must be timed at the signal itself.
 */
function resumeNow(pids: readonly number[]): number {
  const at = monotonicMs();
  for (const p of pids) {
    try {
      process.kill(p, 'SIGCONT');
    } catch {
      // exited meanwhile: reported by the caller
    }
  }
  return at;
}

/** Resumes a frozen service (every process must still be there) and announces it if asked. */
async function resumeService(bed: Testbed, container: string, ip: string, pids: readonly number[], announce: boolean): Promise<{ resumeAt: number; announcedAt: number | null }> {
  const resumeAt = resumeNow(pids);
  const thawed = await bed.thaw(container);
  const missing = pids.filter((p) => !thawed.includes(p));
  if (missing.length > 0) throw new Error(`emulated migration: processes ${missing.join(', ')} of "${container}" vanished while frozen`);
  let announcedAt: number | null = null;
  if (announce) {
    announcedAt = monotonicMs();
    await sendGratuitousArp(bed, container, ip);
  }
  return { resumeAt, announcedAt };
}

/** Moves `container` to node `toNode` as a live migration would. */
export async function emulateMigration(bed: Testbed, container: string, toNode: string, options: EmulateOptions = {}): Promise<EmulatedMigration> {
  const copyMs = options.copyMs ?? 200;
  if (!(copyMs >= 0)) throw new Error(`copy time ${copyMs} ms: expected a number >= 0`);
  const c = bed.containers.find((x) => x.name === container);
  if (!c) throw new Error(`emulated migration: no container "${container}" on the testbed`);
  if (c.node === toNode && (options.portName ?? c.portName) === c.portName) {
    throw new Error(`emulated migration: container "${container}" is already on ${toNode} (port ${c.portName})`);
  }
  const from = bed.node(c.node);
  const portName = options.portName ?? c.portName;

  const freezeAt = monotonicMs();
  const pids = await bed.freeze(container);
  const frozenAt = monotonicMs();
  let resumed = false;
  try {
    if (pids.length === 0) throw new Error(`emulated migration: container "${container}" runs no process to freeze`);
    const neighbours = (options.keepNeighbours ?? true) ? await readNeighbours(bed, container) : [];
    await options.beforeUnplug?.();
    // The port leaves the old bridge now; testbed.moveContainer then deletes the veth itself.
    await from.exec(['ovs-vsctl', `--db=${from.ovsdbTarget}`, '--timeout=10', '--if-exists', 'del-port', c.bridge, c.portName]);
    const unpluggedAt = monotonicMs();
    await options.afterUnplug?.();
    await sleep(Math.max(0, copyMs - (monotonicMs() - unpluggedAt)));
    const attachStartAt = monotonicMs();
    await bed.moveContainer(container, toNode, {
      announce: false,
      portName,
      ...(options.ofport !== undefined ? { ofport: options.ofport } : c.ofport !== null ? { ofport: c.ofport } : {}),
    });
    if (neighbours.length > 0) await restoreNeighbours(bed, container, neighbours);
    const attachedAt = monotonicMs();
    await options.beforeResume?.();
    resumed = true;
    const { resumeAt, announcedAt } = await resumeService(bed, container, c.ip, pids, options.announce === true);
    return {
      container,
      from: { node: c.node, portName: c.portName },
      to: { node: toNode, portName },
      freezeAt, frozenAt, unpluggedAt, attachStartAt, attachedAt, resumeAt, announcedAt, pids, neighbours: neighbours.length,
    };
  } finally {
    // Never leave the service stopped behind a failure.
    if (!resumed) await bed.thaw(container).catch(() => undefined);
  }
}

/**
 * The fast emulation, for a bridged container (testbed ContainerOptions.bridged) whose standby
 * link into `toNode`'s bridge was prepared beforehand (testbed.prepareStandby; done here, before
 * the freeze, if it was not):
 *
 *   freeze   SIGSTOP every process of the container; then `beforeUnplug` (the freeze step);
 *   unplug   its leg in use goes down: the old port stays on the old bridge without carrier
 *            (the switch reports it down: a controller sees the old port go down);
 *   copy     the copy time;
 *   attach   the standby leg comes up: the new port, on the new bridge since the preparation,
 *            gets its carrier (the switch reports it up); MAC, address, neighbour cache and
 *            sockets are those of the container's own bridge `eth0`, untouched by the move;
 *   resume   SIGCONT.
 *
 * Each step is one `ip` command (a few ms) instead of a veth re-creation and an OVSDB
 * transaction (1-2 s), so the freeze lasts the copy time plus a few ms. The old link becomes
 * the standby: the move back is another flip.
 */
export async function emulateLinkFlipMigration(bed: Testbed, container: string, toNode: string, options: EmulateOptions = {}): Promise<EmulatedMigration> {
  const copyMs = options.copyMs ?? 200;
  if (!(copyMs >= 0)) throw new Error(`copy time ${copyMs} ms: expected a number >= 0`);
  const c = bed.containers.find((x) => x.name === container);
  if (!c) throw new Error(`emulated migration: no container "${container}" on the testbed`);
  if (!c.bridged) throw new Error(`emulated migration (link flip): container "${container}" is not bridged (add it with bridged: true)`);
  const portName = options.portName ?? c.portName;
  if (c.node === toNode && portName === c.portName) throw new Error(`emulated migration: container "${container}" is already on ${toNode} (port ${portName})`);
  await bed.prepareStandby(container, toNode, { portName, ...(options.ofport !== undefined ? { ofport: options.ofport } : {}) });

  const freezeAt = monotonicMs();
  const pids = await bed.freeze(container);
  const frozenAt = monotonicMs();
  let resumed = false;
  try {
    if (pids.length === 0) throw new Error(`emulated migration: container "${container}" runs no process to freeze`);
    await options.beforeUnplug?.();
    const unpluggedAt = await bed.cutLink(container);
    await options.afterUnplug?.();
    await sleep(Math.max(0, copyMs - (monotonicMs() - unpluggedAt)));
    const flip = await bed.switchToStandby(container);
    // The cache moved with the bridge; emptying it is what a move that re-creates eth0 does.
    if (options.keepNeighbours === false) await bed.execInContainer(container, ['ip', 'neigh', 'flush', 'dev', CONTAINER_IF]);
    const attachedAt = monotonicMs();
    await options.beforeResume?.();
    resumed = true;
    const { resumeAt, announcedAt } = await resumeService(bed, container, c.ip, pids, options.announce === true);
    return {
      container,
      from: { node: c.node, portName: c.portName },
      to: { node: toNode, portName },
      freezeAt, frozenAt, unpluggedAt, attachStartAt: flip.startAt, attachedAt, resumeAt, announcedAt, pids, neighbours: 0,
    };
  } finally {
    if (!resumed) await bed.thaw(container).catch(() => undefined);
  }
}

/**
 * The control: the same freeze and resume, without any move. What the service itself costs
 * after a stop (its backlog, its wake-up) on this machine, the floor under every scheme.
 */
export async function emulateFreezeOnly(bed: Testbed, container: string, frozenMs: number): Promise<EmulatedMigration> {
  const c = bed.containers.find((x) => x.name === container);
  if (!c) throw new Error(`emulated freeze: no container "${container}" on the testbed`);
  const freezeAt = monotonicMs();
  let pids: number[] = [];
  try {
    pids = await bed.freeze(container);
    if (pids.length === 0) throw new Error(`emulated freeze: container "${container}" runs no process to freeze`);
    const frozenAt = monotonicMs();
    await sleep(Math.max(0, frozenMs - (frozenAt - freezeAt)));
    const before = monotonicMs();
    const resumeAt = resumeNow(pids);
    await bed.thaw(container);
    const here = { node: c.node, portName: c.portName };
    return { container, from: here, to: here, freezeAt, frozenAt, unpluggedAt: frozenAt, attachStartAt: before, attachedAt: before, resumeAt, announcedAt: null, pids, neighbours: 0 };
  } catch (err) {
    await bed.thaw(container).catch(() => undefined);
    throw err;
  }
}

/**
 * One gratuitous ARP (an unsolicited request for its own address) from inside the container:
 * iputils arping (Debian iputils-arping, installed by scripts/setup).
 */
export async function sendGratuitousArp(bed: Testbed, container: string, ip: string): Promise<void> {
  try {
    // -U: unsolicited (sender and target address both ours); it waits up to -w for replies
    // that never come, but the request leaves at once.
    await bed.execInContainer(container, ['arping', '-q', '-U', '-c', '1', '-w', '1', '-I', CONTAINER_IF, ip], { timeoutMs: 5000 });
  } catch (err) {
    const text = (err as Error).message;
    if (/exec of "arping" failed/.test(text)) {
      throw new Error(`gratuitous ARP from ${container}: arping is not installed (Debian package iputils-arping; scripts/setup installs it)`);
    }
    throw new Error(`gratuitous ARP from ${container}: ${text}`);
  }
}

interface Neighbour {
  ip: string;
  mac: string;
  permanent: boolean;
}

/** The container's resolved neighbours on its interface (`ip -j neigh`). */
async function readNeighbours(bed: Testbed, container: string): Promise<Neighbour[]> {
  const { stdout } = await bed.execInContainer(container, ['ip', '-j', 'neigh', 'show', 'dev', CONTAINER_IF]);
  const entries = JSON.parse(stdout || '[]') as { dst?: string; lladdr?: string; state?: string[] }[];
  return entries
    .filter((e) => e.dst && e.lladdr && /^\d+\.\d+\.\d+\.\d+$/.test(e.dst) && !(e.state ?? []).some((x) => x === 'FAILED' || x === 'INCOMPLETE'))
    .map((e) => ({ ip: e.dst!, mac: e.lladdr!, permanent: (e.state ?? []).includes('PERMANENT') }));
}

async function restoreNeighbours(bed: Testbed, container: string, entries: Neighbour[]): Promise<void> {
  const script = entries.map((e) => `neigh replace ${e.ip} lladdr ${e.mac} dev ${CONTAINER_IF} nud ${e.permanent ? 'permanent' : 'stale'}\n`).join('');
  await bed.execInContainer(container, ['ip', '-batch', '-'], { input: script });
}
