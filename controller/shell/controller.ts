/**
 * The ViNO controller's I/O shell: accepts switch connections, maps them to topology nodes,
 * keeps the location table, and after every change computes the desired state of every
 * switch (a pure function) and sends each switch only the difference, in make-before-break
 * order, confirmed by barriers. Flows are never wiped: on (re)connect a switch's flows are read
 * back and reconciled. When only endpoints changed since the last full computation, only their
 * flows are recomputed: a learned MAC costs O(bridges), not O(bridges × endpoints).
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from 'pino';
import { Port } from '../../src/openflow/constants.js';
import { formatMac } from '../../src/openflow/addr.js';
import { rawOxmValueAt, type RawFlowStats } from '../../src/openflow/decode/flow-stats-raw.js';
import { oxmFieldByName } from '../../src/openflow/oxm-fields.js';
import type { ControllerRole, Message, PacketIn, PortDesc } from '../../src/openflow/types/index.js';
import { ErrorType } from '../../src/openflow/constants.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { COOKIE_OWNER_MASK, COOKIE_OWNER_VALUE, cookieKind, cookieKindHigh, isOurCookie, isOurCookieHigh, RuleKind, ruleCookie } from '../core/cookies.js';
import type { Endpoint, Fabric } from '../core/fabric.js';
import {
  BridgeMacs, changedMigrations, contextChangeFlows, defaultForwardingOptions, DesiredStateBuilder, endpointFlowsOn, endpointTouches, FlowCache, FLOOD_GROUP, forwardingContext,
  migrationsByMac, OWN_GROUP_IDS, withEntry, withMigrationChanges, type EndpointChange, type ForwardingContext, type ForwardingOptions, type MigrationInProgress,
} from '../core/forwarding.js';
import { instructionsKey, matchKey, type FlowSpec, type SwitchState } from '../core/flows.js';
import { LocationTable, type Location, type LocationChange } from '../core/locations.js';
import { buildArpReply, isUnicastMac, parseEthernet } from '../core/packet.js';
import { fabricFromTopology, portsByName, refreshBridges, reportedOfport } from '../core/topology-fabric.js';
import { levelsAlongPaths, levelsTowards, stageDiffs, stageFabricChange, type TransitionStage } from '../core/transition.js';
import {
  applyDiff, countInstalled, deleteInstalled, diffConfinedChange, diffFlowChange, diffInstalled, diffToMessages, flowAdds, installedFlow, InstalledTables, isEmptyDiff, readFlowSpec, type SwitchDiff,
} from '../core/diff.js';
import { SessionError, SwitchSession, dpidText, type SessionOptions, type SwitchPort } from './session.js';
import { CorruptStateFile, FileStateStore, type StateChanges, type StateStore, type StoredState } from '../ha/store.js';
import type { Metrics } from './metrics.js';
import { diffTopologies, formatTopologyDiff, type TopologyDiff } from '../../src/topology/diff.js';

export interface ListenAddress {
  host: string;
  port: number;
  /**
   * Listen with TLS (OpenFlow `ssl:`): our key and certificate, and the CA every switch's
   * certificate must chain to (a switch without one, or with another CA's, is refused).
   */
  tls?: ListenTls;
}

/** PEM text, as `ovs-pki` writes it. */
export interface ListenTls {
  key: string | Buffer;
  cert: string | Buffer;
  ca: string | Buffer;
}

export interface ControllerOptions {
  ofListen: ListenAddress[];
  stateFile?: string;
  /**
   * A state file that cannot be read as one (truncated, corrupt) is moved aside as
   * `<file>.corrupt-<time>` and the controller starts from the topology; without this, start fails.
   */
  stateReset?: boolean;
  /** Connections still in the handshake (before FEATURES and ports are known) beyond this are refused at once. */
  maxHandshaking?: number;
  /** Where locations and migrations persist (default: the state file, if any). */
  store?: StateStore;
  /**
   * OpenFlow role to claim on every switch (several controllers per switch). Unset: a single
   * controller, no ROLE_REQUEST is sent. While SLAVE the controller sends no changes.
   */
  role?: { role: 'MASTER' | 'SLAVE'; generationId: bigint };
  session?: Partial<SessionOptions>;
  forwarding?: Partial<ForwardingOptions>;
  logger: Logger;
  metrics?: Metrics;
  /**
   * Every this many ms, read every switch's flows, groups and meters back and repair any
   * difference (flows deleted by hand, `ovs-ofctl del-flows`): OVS tells the controller
   * nothing about such changes. 0 or absent: only on (re)connect and after a failed change.
   */
  auditIntervalMs?: number;
  /** Provisions nodes through OVSDB (bridges, tunnels, controller target); used by a reload with provisioning. */
  provisioner?: Provisioner;
  /**
   * A failed save is retried on a timer, the delay doubling from `initialMs` (100) up to `maxMs`
   * (2000), so the store catches up when it returns even if nothing changes meanwhile.
   */
  saveRetry?: { initialMs?: number; maxMs?: number };
  /**
   * A full recomputation (a reload, switches connecting) runs in slices of bridges of about this
   * many ms of work, yielding to the event loop between them, so that the other switches are
   * served meanwhile (ECHO, PACKET_IN); sending yields likewise. Default 20; 0: one bridge a slice.
   */
  syncSliceMs?: number;
}

/** Provisions the given nodes of a topology, in parallel; resolves with a per-node outcome. */
export type Provisioner = (topology: ResolvedTopology, nodes: readonly string[]) => Promise<{ node: string; ok: boolean; error?: string }[]>;

/** What a reload did (or, for a dry run, would do). */
export interface ReloadResult {
  diff: TopologyDiff;
  dryRun: boolean;
  /** Nodes provisioned before the flows (added nodes, ends of added links) and after (ends of removed links). */
  provisioned: string[];
  /** Switches that received flow changes, and how many flow/group/meter mods in all. */
  switchesTouched: string[];
  flowMods: number;
  /** Time to compute the diff, and from the start to the last barrier. */
  diffMs: number;
  totalMs: number;
}

/** A reload refused: `status` 400 (invalid document) or 409 (conflicts with the running state). */
export class ReloadError extends Error {
  override readonly name = 'ReloadError';
  constructor(readonly status: 400 | 409 | 502, message: string, readonly problems: { path: string; message: string }[] = []) {
    super(message);
  }
}

/** What the API shows of a switch. */
export interface SwitchInfo {
  name: string | null;
  dpid: string;
  connected: boolean;
  remote: string | null;
  ports: { portNo: number; name: string; up: boolean }[];
  flowCount: number;
  /** Unknown switches get the learning fallback (OVS NORMAL). */
  fallback: boolean;
}

export type ControllerEvent =
  | { type: 'switch-up'; switch: string | null; dpid: string; remote: string }
  | { type: 'switch-down'; switch: string | null; dpid: string; reason: string }
  | { type: 'port-change'; switch: string; reason: string; port: { portNo: number; name: string; up: boolean } }
  | { type: 'container-moved'; container: string; mac: string; from: { node: string; ofport: number } | null; to: { node: string; ofport: number } | null; source: string }
  | { type: 'flows-applied'; switch: string; stage: string; flowMods: number; elapsedMs: number }
  | { type: 'flows-failed'; switch: string; stage: string; error: string; disconnected?: boolean }
  | { type: string; [key: string]: unknown };

const OWN = { groupIds: OWN_GROUP_IDS, meterIds: new Set([1]) };
const EMPTY: SwitchState = { flows: [], groups: [], meters: [] };

/**
 * The location table, noting what changed since the flows were last computed: which names, and
 * where each was then (an endpoint-only sync recomputes just those), and the edge ports that
 * hold locations (they take part in flooding, so a port gaining its first or losing its last
 * location changes the fabric).
 */
class TrackedLocations extends LocationTable {
  /** Changed names, each with its location when the flows were last computed (undefined: absent). */
  readonly changedSince = new Map<string, Location | undefined>();
  /**
   * Per node: each port holding locations → their names (one as a string, more as an array).
   * The names located on a node (a switch connecting checks its own ports' numbers, not the whole
   * table's) and the ports in use there (the fabric's edge ports) in one index: one entry per
   * container, where a set of names and a map of counts were two (~25 B more at 100k).
   */
  private readonly located = new Map<string, Map<number, string | string[]>>();
  /** A port gained its first or lost its last location since the controller cleared this. */
  portSetChanged = false;
  /** Ingress entries wanted: (bridge, MAC) its edge ports sent to (packet-ins of misses, read-back). */
  readonly demand = new BridgeMacs();
  /** MACs that left a bridge: it relabels frames still labelled for it there, until that entry idles out. */
  readonly departed = new BridgeMacs();
  /** MACs whose demand or departed entries grew since the flows were last computed. */
  readonly entriesChanged = new Set<string>();
  /**
   * Switches that connected, disconnected or were read back since the flows were last computed:
   * each one's whole state is computed anew (if connected), and its bridge as it reports its
   * ports is checked against the basis's. A switch that connects as planned changes no other
   * switch's state, so a connect storm costs each switch its own state, not everyone's per sync.
   */
  readonly switchesChanged = new Set<string>();
  /**
   * Names whose row changed since the state was last saved (Controller.saveState writes only
   * these); undefined while the next save writes everything anyway.
   */
  unsaved?: Set<string>;

  override set(entry: Parameters<LocationTable['set']>[0]): LocationChange | undefined {
    // The same place with another port name or source is no change for the flows, but it is for the row.
    const before = this.unsaved ? super.get(entry.name) : undefined;
    const change = super.set(entry);
    if (change) this.note(change);
    if (this.unsaved && (change || before?.port !== entry.port || before?.source !== entry.source)) this.unsaved.add(entry.name);
    return change;
  }

  override delete(name: string): LocationChange | undefined {
    const change = super.delete(name);
    if (change) {
      this.note(change);
      this.unsaved?.add(name);
    }
    return change;
  }

  private note(change: LocationChange): void {
    const from = change.kind === 'moved' ? change.from : change.kind === 'removed' ? change.location : undefined;
    const to = change.kind === 'removed' ? undefined : change.location;
    if (!this.changedSince.has(change.location.name)) this.changedSince.set(change.location.name, from);
    if (from && to && from.node !== to.node) {
      // The old edge relabels what stale ingress entries still send it, and its own containers
      // keep an ingress entry for the MAC (they were its neighbours).
      // (A departed entry where it arrives stays until its flows were recomputed: its
      // relabel flows must still be among the ones it had, to be deleted.)
      this.departed.add(from.node, to.mac);
      this.demand.add(from.node, to.mac);
    }
    if (from && to && from.node === to.node && from.ofport === to.ofport) return;
    if (from) this.unplace(from.node, from.ofport, from.name);
    if (to) this.place(to.node, to.ofport, to.name);
  }

  private place(node: string, ofport: number, name: string): void {
    let ports = this.located.get(node);
    if (!ports) this.located.set(node, (ports = new Map()));
    const names = ports.get(ofport);
    if (names === undefined) {
      ports.set(ofport, name);
      this.portSetChanged = true;
    } else if (typeof names === 'string') ports.set(ofport, [names, name]);
    else names.push(name);
  }

  private unplace(node: string, ofport: number, name: string): void {
    const ports = this.located.get(node);
    const names = ports?.get(ofport);
    if (names === undefined) return;
    if (typeof names !== 'string') {
      const i = names.indexOf(name);
      if (i >= 0) names.splice(i, 1);
      if (names.length === 1) ports!.set(ofport, names[0]!);
      return;
    }
    if (names !== name) return;
    ports!.delete(ofport);
    if (ports!.size === 0) this.located.delete(node);
    this.portSetChanged = true;
  }

  /** The names located on `node`. */
  *namesAt(node: string): IterableIterator<string> {
    for (const names of this.located.get(node)?.values() ?? []) {
      if (typeof names === 'string') yield names;
      else yield* names;
    }
  }

  /** The ports of `node` that hold locations. */
  portsAt(node: string): Iterable<number> | undefined {
    return this.located.get(node)?.keys();
  }

  /** Every node's ports that hold locations. */
  *portsByNode(): IterableIterator<[string, Iterable<number>]> {
    for (const [node, ports] of this.located) yield [node, ports.keys()];
  }

  /** How many locations each port of `node` holds. */
  portCounts(node: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const [ofport, names] of this.located.get(node) ?? []) out.set(ofport, typeof names === 'string' ? 1 : names.length);
    return out;
  }
}

/**
 * A change of one location (a migration's flip) computed ahead of time: the post-change
 * forwarding context and every switch's staged flow changes, valid while nothing it was based on
 * has changed (see Controller.prepareMove).
 */
export interface PreparedMove {
  name: string;
  from: { node: string; ofport: number };
  to: { node: string; ofport: number };
  towards: string;
  /** The migrations the change leaves in progress, as JSON (compared whole). */
  migrations: string;
  ctx: ForwardingContext;
  stages: TransitionStage[];
  /** The controller's inputsVersion (inputs besides endpoints and migrations), and installed-state generation, when computed. */
  otherInputs: number;
  installedGeneration: number;
  /** How many port events the controller had seen when computed (set by prepareMove). */
  portEvents?: number;
}

/** What the last full computation of the desired state was based on besides the endpoints. */
interface Basis {
  /** The controller's `inputsVersion` at the time. */
  version: number;
  ctx: ForwardingContext;
}

/** Changes sent and not confirmed yet: `confirmed` resolves once their barriers are back. */
interface Unconfirmed {
  confirmed: Promise<void>;
}

/** A sync waiting for its turn; requests that arrive meanwhile join it. */
interface QueuedSync {
  reasons: string[];
  moreReasons: number;
  reconcile: Set<string>;
  towards: string | undefined;
  byDistance: boolean;
  /** Without ordering: may go out before the previous changes are confirmed (see requestSync). */
  pipelined: boolean;
  /** Only switches to reconcile so far (see connectStormSettled). */
  onlyReconcile: boolean;
  run: Promise<void>;
}

export class Controller extends EventEmitter {
  readonly locations: LocationTable;
  /** Sessions of topology nodes, by node name. */
  readonly sessions = new Map<string, SwitchSession>();
  /** Sessions of switches not in the topology, by dpid text. */
  readonly unknownSessions = new Map<string, SwitchSession>();
  /** How many syncs recomputed every switch's state, only changed endpoints' flows, or sent a move prepared ahead; `switches`: whole states of single switches (connected, read back) computed by endpoint syncs. */
  readonly syncCounts = { full: 0, endpoints: 0, prepared: 0, switches: 0 };
  /** Why the last prepared move found stale was not sent (preparedMoveStale's reasons). */
  lastStaleReasons: string[] = [];
  /** What we believe each connected switch holds (read back on connect, updated on apply). */
  private readonly installed = new InstalledTables();
  private readonly tracked = new TrackedLocations();
  private readonly servers: Server[] = [];
  private readonly readySessions = new Set<SwitchSession>();
  /** Every open session, ready or not. */
  readonly openSessions = new Set<SwitchSession>();
  /** Connections refused because too many were in the handshake. */
  refusedConnections = 0;
  /** Connections taken from the listening sockets (refused ones included): see yieldToEventLoop. */
  private acceptedConnections = 0;
  private readonly flowCache = new SlicedFlowCache();
  private readonly log: Logger;
  /**
   * The sync lane. `chainConfirmed` resolves once every change queued so far is sent and
   * confirmed by its barriers; `chainSent` once every change queued so far is sent. Only a
   * pipelined sync (see requestSync) waits on `chainSent`; everything else (flips, reloads,
   * reconciles, prepared moves) waits on `syncChain`, which is `chainConfirmed`: it reads the
   * installed state only once every earlier change is confirmed. Setting `syncChain` sets both.
   */
  private chainConfirmed: Promise<void> = Promise.resolve();
  private chainSent: Promise<void> = Promise.resolve();
  private get syncChain(): Promise<void> {
    return this.chainConfirmed;
  }

  private set syncChain(p: Promise<void>) {
    this.chainConfirmed = p;
    this.chainSent = p;
  }
  private stopping = false;
  private activeMigrations: readonly MigrationInProgress[] = [];
  /**
   * Bumped by every change the desired state depends on besides the endpoints and the
   * migrations and the switches' presence: port events, a reload, a new role. While it stands
   * still, syncs recompute only the endpoints that changed (a migration's entry is read by its own
   * endpoint's flows alone: a change of the migrations is a change of those endpoints) and the
   * whole state of switches that connected or were read back (tracked.switchesChanged), unless
   * the fabric the switches report differs from the basis's.
   */
  private inputsVersion = 0;
  /** Bumped whenever what we believe a switch holds (`installed`) changes. */
  private installedGeneration = 0;
  /**
   * What each of the latest bumps of installedGeneration changed: the switch, and the subjects
   * (the MAC hash in our cookies) of the flows its diff added or deleted; no subjects: anything
   * else (groups, meters, a read-back, a switch gone). A prepared move checks against it whether
   * the changes sent since it was computed left its flows alone (preparedMoveStale).
   */
  private readonly modelChanges: { generation: number; node: string; subjects?: Set<bigint> }[] = [];
  /** The part of inputsVersion's bumps that came from port events. */
  private portEvents = 0;
  private basis?: Basis;
  private auditTimer?: NodeJS.Timeout;
  private readonly store?: StateStore;
  /** The OpenFlow role claimed (undefined: alone, no roles). */
  private claimedRole?: { role: 'MASTER' | 'SLAVE'; generationId: bigint };
  /** Whether the last save reached the store. */
  storeHealthy = true;

  private current: ResolvedTopology;

  constructor(topology: ResolvedTopology, readonly options: ControllerOptions) {
    super();
    this.current = topology;
    this.log = options.logger;
    this.store = options.store ?? (options.stateFile ? new FileStateStore(options.stateFile) : undefined);
    this.claimedRole = options.role;
    this.locations = this.tracked;
    for (const c of Object.values(topology.containers)) {
      this.locations.set({ name: c.name, mac: c.mac, ip: c.ip, node: c.node, ofport: c.ofport, port: c.port, source: 'topology' });
    }
  }

  /** Loads the state file (if any) and starts listening. Throws with a clear message if a port is busy. */
  async start(): Promise<ListenAddress[]> {
    await this.loadState();
    const bound: ListenAddress[] = [];
    for (const addr of this.options.ofListen) {
      const server = addr.tls ? this.tlsServer(addr.tls) : createServer({ noDelay: true }, (socket) => this.accept(socket));
      // Every TCP connection taken, TLS or not, before any handshake.
      server.on('connection', () => {
        this.acceptedConnections++;
      });
      const where = `${addr.tls ? 'ssl:' : ''}${addr.host}:${addr.port}`;
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          reject(new Error(err.code === 'EADDRINUSE' ? `OpenFlow port ${where} is already in use` : `cannot listen on ${where}: ${err.message}`));
        });
        // A thousand switches reconnect at once after a restart; Node's default backlog (511)
        // would leave the rest to the kernel's SYN-ACK retries (1 s, 3 s, 7 s, ...).
        server.listen({ port: addr.port, host: addr.host, backlog: LISTEN_BACKLOG }, () => resolve());
      });
      const a = server.address() as { address: string; port: number };
      bound.push({ host: a.address, port: a.port, ...(addr.tls ? { tls: addr.tls } : {}) });
      this.servers.push(server);
    }
    this.log.info({ listen: bound.map((b) => `${b.tls ? 'ssl' : 'tcp'}:${b.host}:${b.port}`) }, 'listening for switches');
    const audit = this.options.auditIntervalMs ?? 0;
    if (audit > 0) {
      this.auditTimer = setInterval(() => {
        for (const [node, s] of this.sessions) if (s.state === 'ready') void this.requestSync('periodic audit', { reconcile: node });
      }, audit);
      this.auditTimer.unref();
    }
    return bound;
  }

  /** Closes sessions and listeners. Flows stay on the switches: traffic keeps flowing. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.stopPhase = 'closing sessions';
    clearInterval(this.auditTimer);
    clearTimeout(this.saveRetryTimer);
    this.saveRetryTimer = undefined;
    for (const s of this.servers) s.close();
    for (const s of [...this.sessions.values(), ...this.unknownSessions.values()]) s.close('controller shutting down');
    this.stopPhase = 'waiting for the running sync to end';
    await this.syncChain.catch(() => {});
    this.stopPhase = `saving the state (${this.store?.description ?? 'no store'})`;
    await this.saveState();
    // A compaction under way finishes (or fails) rather than leave its temporary file behind.
    if (this.store instanceof FileStateStore) await this.store.settled();
    this.stopPhase = 'stopped';
  }

  /** What stop() is waiting for (undefined before stop): a shutdown that hangs can say why. */
  stopPhase: string | undefined;

  /** The topology in force (a reload replaces it). */
  get topology(): ResolvedTopology {
    return this.current;
  }

  /**
   * The next sync recomputes every switch's state, as after a reload, whatever changed: the
   * reference the endpoint-only path is checked against (tests).
   */
  recomputeAllNext(): void {
    this.basis = undefined;
  }

  /** Migrations between prepare and commit (the migration manager publishes them here). */
  get migrations(): readonly MigrationInProgress[] {
    return this.activeMigrations;
  }

  set migrations(list: readonly MigrationInProgress[]) {
    // Compared with the basis's at the next sync (endpointDiffs): the MACs whose entry changed are recomputed.
    this.activeMigrations = list;
  }

  // ------------------------------------------------------------------------------ switches

  /**
   * OpenFlow over TLS: the switch must present a certificate chaining to `creds.ca`, or it
   * never becomes a session. The chain is checked by OpenSSL during the handshake; we reject
   * on its verdict ourselves (not with rejectUnauthorized) because then the log can say why
   * (an unknown CA, an expired or missing certificate): with rejectUnauthorized Node only
   * reports "socket hang up".
   */
  private tlsServer(creds: ListenTls): Server {
    const refuse = (socket: TLSSocket, reason: string) => {
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      this.options.metrics?.error('tls');
      this.log.warn({ remote, reason }, 'switch refused: TLS handshake failed');
      this.emit('event', { type: 'switch-refused', remote, reason });
    };
    const server = createTlsServer({ key: creds.key, cert: creds.cert, ca: creds.ca, requestCert: true, rejectUnauthorized: false }, (socket) => {
      if (!socket.authorized) {
        const why = socket.authorizationError;
        refuse(socket, why ? `switch certificate not accepted: ${String(why)}` : 'switch certificate not accepted');
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      this.accept(socket);
    });
    server.on('tlsClientError', (err: Error, socket: TLSSocket) => refuse(socket, err.message));
    return server;
  }

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const limit = this.options.maxHandshaking ?? DEFAULT_MAX_HANDSHAKING;
    if (this.openSessions.size - this.readySessions.size >= limit) {
      // Each unfinished handshake holds buffers and timers: a connection storm must not pile them up.
      this.refusedConnections++;
      this.options.metrics?.connectionRefused();
      this.log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, limit, refused: this.refusedConnections }, 'connection refused: too many switches in the handshake');
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const session = new SwitchSession(socket, { ...this.options.session, knownPortNames: (dpid) => this.topologyPortNames(dpid) });
    this.openSessions.add(session);
    this.options.metrics?.sessionOpened();
    session.on('ready', () => this.onReady(session));
    let protocolErrors = 0;
    session.on('protocol-error', (err: Error) => {
      this.options.metrics?.error('protocol');
      // A switch sending garbage must not flood the log: the first few, then only the count.
      if (++protocolErrors <= PROTOCOL_ERRORS_LOGGED) this.log.warn({ switch: session.name, err: err.message }, 'malformed message from switch');
      else if (protocolErrors === PROTOCOL_ERRORS_LOGGED + 1) this.log.warn({ switch: session.name }, `more malformed messages from this switch: counted, not logged`);
    });
    session.on('internal-error', (err: Error) => {
      this.options.metrics?.error('internal');
      this.log.error({ switch: session.name, err: err.stack }, 'internal error handling a switch message');
    });
    session.once('close', (reason: string) => this.onClose(session, reason));
  }

  /** The port names the topology gives the switch of `dpid`, each its own value (see SessionOptions.knownPortNames); made per handshake, not kept. */
  private topologyPortNames(dpid: bigint): Map<string, string> | undefined {
    const node = this.topology.dpids[dpidText(dpid)];
    const ports = node === undefined ? undefined : this.topology.nodes[node]?.bridge.ports;
    return ports && new Map(ports.map((p) => [p.name, p.name]));
  }

  private nodeOf(session: SwitchSession): string | undefined {
    const dpid = dpidText(session.datapathId!);
    const byDpid = this.topology.dpids[dpid];
    if (byDpid) return byDpid;
    // Fall back to the bridge name: OFPP_LOCAL carries it.
    const local = session.ports.get(Port.LOCAL)?.name;
    return Object.values(this.topology.nodes).find((n) => n.bridge.name === local)?.name;
  }

  /** The node a session serves (undefined: an unknown switch); a reload may change it. */
  private readonly nodeOfSession = new WeakMap<SwitchSession, string>();

  private onReady(session: SwitchSession): void {
    const dpid = dpidText(session.datapathId!);
    const node = this.nodeOf(session);
    const log = this.log.child({ switch: node ?? null, dpid });
    this.options.metrics?.sessionReady();
    this.readySessions.add(session);
    session.on('message', (msg: Message) => this.onMessage(session, this.nodeOfSession.get(session), msg));
    if (!node) {
      this.unknownSessions.get(dpid)?.close('replaced by a new connection with the same datapath id');
      this.unknownSessions.set(dpid, session);
      log.warn({ remote: session.remote }, 'switch not in the topology: serving it with the learning fallback');
      this.emit('event', { type: 'switch-up', switch: null, dpid, remote: session.remote });
      void this.installFallback(session, log);
      return;
    }
    this.serveNode(session, node, log);
  }

  /** Serves a connected switch as topology node `node`: reconcile, then keep its flows in step. */
  private serveNode(session: SwitchSession, node: string, log: Logger): void {
    const dpid = dpidText(session.datapathId!);
    this.nodeOfSession.set(session, node);
    const previous = this.sessions.get(node);
    if (previous && previous !== session) previous.close('replaced by a new connection with the same datapath id');
    this.sessions.set(node, session);
    this.tracked.switchesChanged.add(node);
    this.followPorts(node, session);
    session.on('port', (reason: string, desc: PortDesc) => {
      if (this.sessions.get(node) !== session) return;
      this.inputsVersion++;
      this.portEvents++;
      this.followPorts(node, session);
      this.emit('event', { type: 'port-change', switch: node, reason: String(reason), port: portView(desc) });
      // A tunnel coming or going changes paths: staged per label like a reload, so that no
      // switch turns a label towards a neighbour that does not forward it on its new path yet.
      const tunnel = this.topology.nodes[node]?.bridge.ports.some((p) => p.kind === 'tunnel' && p.name === desc.name) === true;
      void this.requestSync(`port ${desc.name} ${String(reason).toLowerCase()} on ${node}`, tunnel ? { byDistance: true } : {});
    });
    log.info({ remote: session.remote, ports: session.ports.size }, 'switch connected');
    this.emit('event', { type: 'switch-up', switch: node, dpid, remote: session.remote });
    if (!this.claimedRole) {
      this.requestSync(`switch ${node} connected`, { reconcile: node });
      return;
    }
    // Claim the role first: as SLAVE the switch would refuse our read-back's successors anyway.
    const claim = this.claimedRole;
    void this.claimRole(node, session, claim).then((ok) => {
      if (ok && claim.role === 'MASTER') void this.requestSync(`switch ${node} connected`, { reconcile: node });
    });
  }

  private onClose(session: SwitchSession, reason: string): void {
    if (this.openSessions.delete(session)) this.options.metrics?.sessionClosed();
    if (this.readySessions.delete(session)) this.options.metrics?.sessionGone();
    const dpid = session.datapathId === undefined ? null : dpidText(session.datapathId);
    for (const [node, s] of this.sessions) {
      if (s !== session) continue;
      this.sessions.delete(node);
      this.installed.delete(node);
      this.noteModelChange(node);
      this.tracked.switchesChanged.add(node);
      this.log.warn({ switch: node, dpid, reason }, 'switch disconnected');
      this.emit('event', { type: 'switch-down', switch: node, dpid, reason });
      return;
    }
    if (dpid && this.unknownSessions.get(dpid) === session) {
      this.unknownSessions.delete(dpid);
      this.log.warn({ dpid, remote: session.remote, reason, dropped: session.stats.dropped }, 'unknown switch disconnected');
      this.emit('event', { type: 'switch-down', switch: null, dpid, reason });
    } else if (dpid === null) {
      this.log.info({ remote: session.remote, reason }, 'connection closed before the handshake completed');
    } else {
      // Features known but not ready, or an unknown switch replaced by one with its dpid.
      this.log.info({ dpid, remote: session.remote, reason }, 'switch connection closed');
    }
  }

  private async installFallback(session: SwitchSession, log: Logger): Promise<void> {
    const normal: FlowSpec = {
      tableId: 0, priority: 0, match: { fields: [] }, cookie: ruleCookie(RuleKind.FORWARD_MISS, 'fallback'),
      instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: Port.NORMAL, maxLen: 0 }] }],
    };
    try {
      await session.applyBatch(flowAdds([normal]));
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not install the learning fallback');
    }
  }

  // ------------------------------------------------------------------------------ roles

  /** The role this controller claims (undefined when it runs alone). */
  get role(): 'MASTER' | 'SLAVE' | undefined {
    return this.claimedRole?.role;
  }

  /** Whether this controller may change switches: alone, or master. */
  get inCharge(): boolean {
    return !this.claimedRole || this.claimedRole.role === 'MASTER';
  }

  /**
   * Claims `role` on every connected switch. As MASTER it then reads every switch back and
   * sends only what differs (no wipe): what a new master does after a failover. Resolves with
   * the switches that refused (a STALE refusal means a newer master exists).
   */
  async assumeRole(role: 'MASTER' | 'SLAVE', generationId: bigint): Promise<string[]> {
    const claim = { role, generationId };
    this.claimedRole = claim;
    // A new master writes the whole state (etcd keeps only what differs from what it holds).
    this.saveAllNext();
    const nodes = [...this.sessions].filter(([, s]) => s.state === 'ready');
    const results = await Promise.all(nodes.map(([node, s]) => this.claimRole(node, s, claim)));
    const refused = nodes.filter((_, i) => !results[i]).map(([node]) => node);
    if (role === 'MASTER' && this.claimedRole === claim) {
      this.inputsVersion++;
      await this.requestSync(`became master (generation ${generationId})`, { reconcileAll: true });
    }
    return refused;
  }

  private async claimRole(node: string, session: SwitchSession, claim: { role: ControllerRole; generationId: bigint }): Promise<boolean> {
    try {
      await session.requestRole(claim.role, claim.generationId);
      this.emit('event', { type: 'role', switch: node, role: claim.role, generationId: claim.generationId.toString() });
      return true;
    } catch (err) {
      const stale = err instanceof SessionError && err.switchErrors.some((e) => e.errorType === ErrorType.ROLE_REQUEST_FAILED && e.code === 0);
      if (stale) {
        // A newer master exists: stop changing switches until the election says otherwise.
        if (this.claimedRole === claim) this.claimedRole = { role: 'SLAVE', generationId: claim.generationId };
        this.log.warn({ switch: node, generationId: claim.generationId.toString() }, 'switch refused our role request as stale: a newer master exists');
        this.emit('event', { type: 'role-stale', switch: node, generationId: claim.generationId.toString() });
      } else {
        this.log.error({ switch: node, role: claim.role, err: (err as Error).message }, 'role request failed');
      }
      return false;
    }
  }

  // ------------------------------------------------------------------------------ packet-in

  private onMessage(session: SwitchSession, node: string | undefined, msg: Message): void {
    this.options.metrics?.messageIn(msg.type);
    if (msg.type === 'PACKET_IN') {
      if (node) this.onPacketIn(session, node, msg);
      return;
    }
    if (msg.type === 'FLOW_REMOVED') {
      if (node) this.onFlowRemoved(node, msg);
      return;
    }
    if (msg.type === 'ERROR') {
      this.log.warn({ switch: node ?? null, dpid: session.datapathId === undefined ? null : dpidText(session.datapathId), errorType: msg.errorType }, 'unsolicited error from switch');
    }
  }

  /**
   * Receives the frames that hold flows send (the migration manager queues them), told apart by
   * the hold flow's cookie.
   */
  heldFrameSink?: (node: string, frame: Uint8Array) => void;

  private onPacketIn(session: SwitchSession, node: string, pin: PacketIn): void {
    // A slave gets no packet-ins from a switch that honours roles; any that arrive are not ours to act on.
    if (!this.inCharge) return;
    const kind = isOurCookie(pin.cookie) ? cookieKind(pin.cookie) : undefined;
    if (kind === RuleKind.MIGRATION_HOLD) {
      this.heldFrameSink?.(node, pin.data);
      return;
    }
    if (kind === RuleKind.TO_CONTROLLER) {
      // A unicast frame from an edge port with no ingress entry: the switch flooded it already;
      // the entry makes the next ones go straight to the destination's edge.
      const eth = parseEthernet(pin.data);
      if (eth && isUnicastMac(eth.dst) && this.noteDemand(node, eth.dst)) void this.requestSync(`ingress entry on ${node} for ${eth.dst}`);
      return;
    }
    const inPortField = pin.match.fields.find((f) => f.field === 'in_port');
    const inPort = inPortField && inPortField.field !== 'opaque' ? Number(inPortField.value) : undefined;
    const eth = parseEthernet(pin.data);
    if (inPort === undefined || !eth) return;
    const nodeInfo = this.topology.nodes[node];
    if (!nodeInfo) return;
    // By name: the switch's number for a tunnel need not be the plan's.
    const inPortName = session.ports.get(inPort)?.name;
    const isTunnel = nodeInfo.bridge.ports.some((p) => p.kind === 'tunnel' && p.name === inPortName);
    if (eth.arp?.op === 1 && !isTunnel) {
      const owner = this.locations.byIp(eth.arp.tpa);
      if (owner && owner.mac !== eth.src) {
        session.send({
          type: 'PACKET_OUT', xid: 0, bufferId: 0xffffffff, inPort: Port.CONTROLLER,
          actions: [{ type: 'OUTPUT', port: inPort, maxLen: 0 }], data: buildArpReply(eth.arp, owner.mac, owner.ip!),
        });
        this.options.metrics?.proxyArp();
      } else if (!owner && kind === RuleKind.PROXY_ARP) {
        // Not ours to answer: flooded as the switch would have, minus the port it came from.
        session.send({ type: 'PACKET_OUT', xid: 0, bufferId: 0xffffffff, inPort, actions: [{ type: 'GROUP', groupId: FLOOD_GROUP }], data: Buffer.from(pin.data) });
      }
    }
    // Learn only at edge ports: a frame from a tunnel says nothing about where its sender is,
    // and one from the host's own bridge or internal port is the host, not a container.
    if (isTunnel || !isUnicastMac(eth.src) || eth.vlan !== undefined) return;
    const portName = session.ports.get(inPort)?.name;
    if (!this.isContainerPort(node, inPort, portName)) return;
    this.learn(node, inPort, eth.src, eth.arp?.spa ?? undefined, portName);
  }

  /** The demand set: which bridges hold (or are to hold) an ingress entry for which MAC. */
  get demand(): Pick<BridgeMacs, 'has' | 'bridgesOf' | 'size'> {
    return this.tracked.demand;
  }

  /**
   * Bridge `node`'s edge ports sent to `mac`: it gets an ingress entry for it with the next sync.
   * False when nothing changes (already wanted, unknown MAC, or the MAC lives on `node`).
   */
  noteDemand(node: string, mac: string): boolean {
    const owner = this.locations.byMac(mac);
    if (!owner || owner.node === node || !this.topology.nodes[node]) return false;
    if (!this.tracked.demand.add(node, owner.mac)) return false;
    this.tracked.entriesChanged.add(owner.mac);
    return true;
  }

  /**
   * An ingress entry or a relabel entry idled out: the switch removed it, so its demand (or
   * departed) entry goes and the model forgets the flow. Should the switch have removed it just
   * as we re-added it, the re-added flow stays unknown to the model until it idles out too (or
   * the next audit): harmless, it forwards as desired.
   */
  private onFlowRemoved(node: string, msg: Extract<Message, { type: 'FLOW_REMOVED' }>): void {
    if (!this.inCharge || !isOurCookie(msg.cookie)) return;
    const kind = cookieKind(msg.cookie);
    if (kind !== RuleKind.INGRESS_ENTRY && kind !== RuleKind.RELABEL) return;
    const dst = msg.match.fields.find((f) => f.field === 'eth_dst');
    if (!dst || dst.field !== 'eth_dst' || typeof dst.value !== 'string') return;
    const mac = dst.value.toLowerCase();
    const installed = this.installed.get(node);
    if (kind === RuleKind.INGRESS_ENTRY) {
      this.tracked.demand.delete(node, mac);
      if (installed) deleteInstalled(installed, msg);
      return;
    }
    // The relabel entry's IN_PORT twin has no timeout: it goes with it, by the next sync.
    const owner = this.locations.byMac(mac);
    const ctx = this.basis?.ctx;
    const twins = owner && ctx && ctx.fabric.bridges.has(owner.node) ? endpointFlowsOn(ctx, endpointOf(owner), node).filter((f) => cookieKind(f.cookie) === RuleKind.RELABEL) : [];
    this.tracked.departed.delete(node, mac);
    if (installed) deleteInstalled(installed, msg);
    if (twins.length === 0 || !installed) return;
    for (const f of twins) {
      const cur = installedFlow(installed, f);
      if (cur) (this.pendingRemovals.get(node) ?? this.pendingRemovals.set(node, []).get(node)!).push(cur);
    }
    void this.requestSync(`relabel entry for ${mac} on ${node} idled out`);
  }

  /** Flows to delete with the next sync that no endpoint's flows account for any more. */
  private readonly pendingRemovals = new Map<string, FlowSpec[]>();

  /**
   * Whether a port may hold containers: not the bridge's LOCAL port, and not a port the
   * topology plans as something else (internal or tunnel), matched by name or by number.
   */
  isContainerPort(node: string, ofport: number, name: string | undefined): boolean {
    if (ofport === Port.LOCAL) return false;
    const bridge = this.topology.nodes[node]?.bridge;
    if (!bridge) return true;
    if (name !== undefined && name === bridge.name) return false;
    return !bridge.ports.some((p) => p.kind !== 'container' && (p.ofport === ofport || (name !== undefined && p.name === name)));
  }

  /**
   * Locations on `node` whose port name the switch reports under another number take that
   * number: a port renumbered or recreated (or never numbered as planned) is followed.
   */
  private followPorts(node: string, session: SwitchSession): void {
    // Collected first: moving an entry while iterating the table is not done (and the table is not copied per call).
    let byName: Map<string, SwitchPort> | undefined;
    const moved: [Location, number][] = [];
    for (const name of this.tracked.namesAt(node)) {
      const l = this.tracked.get(name);
      if (l === undefined || l.port === undefined) continue;
      byName ??= portsByName(session.ports);
      const now = byName.get(l.port)?.portNo;
      if (now !== undefined && now !== l.ofport) moved.push([l, now]);
    }
    for (const [l, now] of moved) {
      const change = this.locations.set({ ...l, ofport: now });
      if (change) this.announce(change, `port ${l.port} is ofport ${now} on ${node}`, false);
    }
  }

  /** A MAC seen at an edge port: new → learned; known elsewhere → moved (host-move detection). */
  learn(node: string, ofport: number, mac: string, ip: string | undefined, portName: string | undefined): void {
    const known = this.locations.byMac(mac);
    if (known && known.node === node && known.ofport === ofport) return;
    const handled = this.emit('frame-at-new-location', { node, ofport, mac, portName });
    if (handled && this.migrations.some((m) => m.mac === mac.toLowerCase())) return; // the migration manager commits
    const name = known?.name ?? `mac-${mac.replace(/:/g, '')}`;
    const ipOwner = ip ? this.locations.byIp(ip) : undefined;
    const useIp = ip && ip !== '0.0.0.0' && (!ipOwner || ipOwner.name === name) ? ip : known?.ip;
    const entry: Omit<Location, 'since'> = { name, mac, node, ofport, source: known ? known.source : 'learned' };
    if (useIp) entry.ip = useIp;
    if (portName) entry.port = portName;
    const change = this.locations.set(entry);
    if (change) this.announce(change, known ? 'host move detected from traffic' : 'learned from traffic');
  }

  // ------------------------------------------------------------------------------ containers

  /** Registers or moves a container by hand (API); resolves once the switches are updated. */
  async placeContainer(entry: { name: string; mac: string; ip?: string; node: string; ofport: number; port?: string }, source: Location['source'] = 'api'): Promise<LocationChange | undefined> {
    const change = this.locations.set({ ...entry, source });
    if (change) {
      this.announce(change, `set through the ${source}`, false);
      await this.requestSync(`container ${entry.name} ${change.kind}`, { towards: entry.node });
    }
    return change;
  }

  async removeContainer(name: string): Promise<LocationChange | undefined> {
    const change = this.locations.delete(name);
    if (change) {
      this.announce(change, 'removed through the api', false);
      await this.requestSync(`container ${name} removed`);
    }
    return change;
  }

  /** The one log line of a location change, whoever made it (traffic, the API, a migration). */
  logLocationChange(change: LocationChange, why: string): void {
    // Learning at packet-in rates: no text built for a line nobody will see.
    if (!this.log.isLevelEnabled('info')) return;
    const l = change.location;
    const at = (x: { node: string; ofport: number; port?: string }) => `${x.node}:${x.port ?? x.ofport}`;
    const from = change.kind === 'moved' ? at(change.from) : change.kind === 'removed' ? at(l) : null;
    const to = change.kind === 'removed' ? null : at(l);
    this.log.info({ container: l.name, mac: l.mac, from, to, source: l.source, why },
      `location of ${l.name}: ${from ?? '(none)'} → ${to ?? '(none)'} (${l.source}: ${why})`);
  }

  private announce(change: LocationChange, why: string, sync = true): void {
    const l = change.location;
    const from = change.kind === 'moved' ? { node: change.from.node, ofport: change.from.ofport } : change.kind === 'removed' ? { node: l.node, ofport: l.ofport } : null;
    const to = change.kind === 'removed' ? null : { node: l.node, ofport: l.ofport };
    this.logLocationChange(change, why);
    this.emit('event', { type: 'container-moved', container: l.name, mac: l.mac, from, to, source: why });
    this.options.metrics?.locationChange(change.kind);
    void this.saveState();
    // Only a move needs ordering (downstream first); a new or removed MAC has no traffic to misroute.
    if (sync) void this.requestSync(`${l.name} ${change.kind}: ${why}`, change.kind === 'moved' ? { towards: l.node } : {});
  }

  // ------------------------------------------------------------------------------ reload

  private reloading?: Promise<ReloadResult>;

  /**
   * Replaces the topology while running. `next` is already validated. Refused (409, nothing
   * changed) when a removed node still holds containers or a prepared migration. Otherwise:
   * provisions the new nodes and the ends of new links first (in parallel, when asked), updates
   * the location table, adopts switches that became topology nodes, drops those that left, and
   * recomputes the flows: additions everywhere before any removal (make-before-break), so a
   * removed link keeps carrying traffic until every switch has its new path. Switches whose
   * desired state did not change get nothing. Resolves after the last barrier.
   */
  reload(next: ResolvedTopology, opts: { dryRun?: boolean; provision?: boolean; waitForNewSwitchesMs?: number } = {}): Promise<ReloadResult> {
    if (this.reloading) return Promise.reject(new ReloadError(409, 'another reload is in progress'));
    const run = this.doReload(next, opts).finally(() => {
      this.reloading = undefined;
    });
    this.reloading = run;
    return run;
  }

  private async doReload(next: ResolvedTopology, opts: { dryRun?: boolean; provision?: boolean; waitForNewSwitchesMs?: number }): Promise<ReloadResult> {
    const started = performance.now();
    const before = this.current;
    const diff = diffTopologies(before, next);
    const diffMs = performance.now() - started;
    const result: ReloadResult = { diff, dryRun: opts.dryRun === true, provisioned: [], switchesTouched: [], flowMods: 0, diffMs: round3(diffMs), totalMs: 0 };
    this.refuseConflicts(before, next, diff);
    if (opts.provision && !this.options.provisioner) throw new ReloadError(400, 'provisioning asked for, but this controller has no provisioner (start it with --provider)');
    if (opts.dryRun || diff.empty) {
      result.totalMs = round3(performance.now() - started);
      return result;
    }
    this.log.info({ changes: formatTopologyDiff(diff) }, 'reloading the topology');

    // Nodes whose OVSDB rows change: new ones and the ends of new links first; the ends of
    // removed links only once their traffic has moved (their old tunnels go then).
    const linkEnds = (keys: string[]) => keys.flatMap((k) => k.split('~'));
    const dropLater = new Set(linkEnds([...diff.links.removed, ...diff.links.changed.map((c) => c.name)]).filter((n) => next.nodes[n]));
    const provisionFirst = [...new Set([...diff.nodes.added, ...diff.nodes.changed.map((c) => c.name), ...linkEnds(diff.links.added)])].filter((n) => next.nodes[n] && !dropLater.has(n));
    if (opts.provision && provisionFirst.length > 0) {
      await this.provision(next, provisionFirst);
      result.provisioned.push(...provisionFirst);
    }

    this.current = next;
    this.applyTopologyToLocations(before, next, diff);
    const adopted = this.reassignSessions(next);
    this.inputsVersion++;
    this.basis = undefined;

    const onEvent = (e: ControllerEvent) => {
      if (e.type !== 'flows-applied') return;
      if (!result.switchesTouched.includes(String(e.switch))) result.switchesTouched.push(String(e.switch));
      result.flowMods += Number(e.flowMods);
    };
    this.on('event', onEvent);
    try {
      // Adopted switches queued their reconcile already: this request joins it.
      if (adopted.length > 0) this.log.info({ nodes: adopted }, 'switches already connected are now topology nodes');
      await this.requestSync('topology reloaded', { byDistance: true });
      // Switches of added nodes that connect now are reconciled as they come; wait for them a while.
      const waitMs = opts.waitForNewSwitchesMs ?? (opts.provision ? 10_000 : 0);
      if (waitMs > 0 && diff.nodes.added.length > 0) await this.waitForNodes(diff.nodes.added, waitMs);
    } finally {
      this.off('event', onEvent);
    }
    if (opts.provision && dropLater.size > 0) {
      await this.provision(next, [...dropLater]);
      result.provisioned.push(...dropLater);
    }
    void this.saveState();
    result.totalMs = round3(performance.now() - started);
    this.log.info({ switchesTouched: result.switchesTouched.length, flowMods: result.flowMods, ms: result.totalMs }, 'topology reloaded');
    this.emit('event', { type: 'topology-reloaded', changes: formatTopologyDiff(diff), switchesTouched: result.switchesTouched.length, flowMods: result.flowMods });
    return result;
  }

  /** 409 when a removed node still holds containers (not removed with it) or a prepared migration. */
  private refuseConflicts(before: ResolvedTopology, next: ResolvedTopology, diff: TopologyDiff): void {
    const gone = new Set([...diff.nodes.removed, ...diff.nodes.changed.filter((c) => c.fields.includes('kind')).map((c) => c.name)]);
    const problems: { path: string; message: string }[] = [];
    for (const l of this.locations.all()) {
      // Strict: a container goes first (a reload without it, or DELETE), its node afterwards.
      if (!gone.has(l.node) || l.source === 'learned') continue;
      problems.push({ path: `nodes.${l.node}`, message: `node "${l.node}" still holds container "${l.name}" (port ${l.port ?? l.ofport}): move or remove the container first` });
    }
    for (const m of this.migrations) {
      for (const end of [m.from.bridge, m.to.bridge]) {
        if (gone.has(end)) problems.push({ path: `nodes.${end}`, message: `node "${end}" is an end of the prepared migration of "${m.name}": commit or abort it first` });
      }
    }
    for (const [name, c] of Object.entries(next.containers)) {
      const other = this.locations.byMac(c.mac) ?? this.locations.byIp(c.ip);
      // Learned entries give way; containers of the old document are governed by the new one.
      if (other && other.name !== name && other.source !== 'learned' && before.containers[other.name] === undefined) problems.push({ path: `containers.${name}`, message: `MAC or IP of "${name}" belongs to "${other.name}" in the running controller` });
    }
    if (problems.length > 0) throw new ReloadError(409, `reload refused: ${problems.map((p) => p.message).join('; ')}`, problems);
  }

  /** Containers added, removed or changed in the document, and learned MACs on removed nodes. */
  private applyTopologyToLocations(before: ResolvedTopology, next: ResolvedTopology, diff: TopologyDiff): void {
    for (const name of diff.containers.removed) {
      const change = this.locations.delete(name);
      if (change) this.announce(change, 'removed from the topology', false);
    }
    for (const l of this.locations.all()) {
      if (next.nodes[l.node]) continue;
      const change = this.locations.delete(l.name);
      if (change) this.announce(change, `node ${l.node} removed from the topology`, false);
    }
    for (const name of [...diff.containers.added, ...diff.containers.changed.map((c) => c.name)]) {
      const c = next.containers[name]!;
      // A learned entry with the same MAC or IP is the same container seen earlier: it gives way.
      for (const other of [this.locations.byMac(c.mac), this.locations.byIp(c.ip)]) {
        if (other && other.name !== name && other.source === 'learned') this.locations.delete(other.name);
      }
      const ofport = reportedOfport(this.sessions.get(c.node)?.ports, c.port) ?? c.ofport;
      try {
        const change = this.locations.set({ name, mac: c.mac, ip: c.ip, node: c.node, ofport, port: c.port, source: 'topology' });
        if (change) this.announce(change, before.containers[name] ? 'changed in the topology' : 'added to the topology', false);
      } catch (err) {
        this.log.warn({ container: name, err: (err as Error).message }, 'container of the new topology not placed');
      }
    }
  }

  /**
   * Sessions after a topology change: a node that left (or whose datapath id changed) is closed;
   * an unknown switch that is now a node is served as such (its learning fallback flow is ours
   * by cookie and goes with the reconcile). Returns the nodes adopted.
   */
  private reassignSessions(next: ResolvedTopology): string[] {
    for (const [node, session] of [...this.sessions]) {
      const n = next.nodes[node];
      if (n && BigInt(`0x${n.bridge.dpid}`) === session.datapathId) continue;
      this.sessions.delete(node);
      this.installed.delete(node);
      this.nodeOfSession.delete(session);
      session.close(n ? `datapath id of ${node} changed in the topology` : `${node} removed from the topology`);
    }
    const adopted: string[] = [];
    for (const [dpid, session] of [...this.unknownSessions]) {
      const node = next.dpids[dpid];
      if (!node || session.state !== 'ready') continue;
      this.unknownSessions.delete(dpid);
      // serveNode queues its own reconcile; the reload's sync joins it.
      this.serveNode(session, node, this.log.child({ switch: node, dpid }));
      adopted.push(node);
    }
    return adopted;
  }

  /** Resolves once every node in `nodes` is connected with its flows applied, or after `timeoutMs`. */
  private async waitForNodes(nodes: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = () => nodes.filter((n) => !(this.sessions.get(n)?.state === 'ready' && this.installed.has(n)));
    while (pending().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const missing = pending();
    if (missing.length > 0) this.log.warn({ nodes: missing }, 'added nodes not connected yet: they are served when they connect');
    await this.syncChain;
  }

  private async provision(topology: ResolvedTopology, nodes: string[]): Promise<void> {
    const t0 = performance.now();
    const outcome = await this.options.provisioner!(topology, nodes);
    const failed = outcome.filter((o) => !o.ok);
    this.log.info({ nodes, ms: round3(performance.now() - t0), failed: failed.map((f) => f.node) }, 'provisioned for the reload');
    if (failed.length > 0) {
      throw new ReloadError(502, `provisioning failed on ${failed.map((f) => `${f.node}: ${f.error ?? 'failed'}`).join('; ')}`, failed.map((f) => ({ path: `nodes.${f.node}`, message: f.error ?? 'provisioning failed' })));
    }
  }

  // ------------------------------------------------------------------------------ sync

  /**
   * Queues a recomputation; resolves when every connected switch has (or has failed to get)
   * the new state. Serialised: two changes never interleave their flow_mods.
   */
  requestSync(reason: string, opts: { reconcile?: string; towards?: string; byDistance?: boolean; reconcileAll?: boolean } = {}): Promise<void> {
    if (opts.reconcileAll) {
      const all = [...this.sessions.keys()];
      const last = all.pop();
      for (const node of all) void this.requestSync(reason, { reconcile: node });
      return last ? this.requestSync(reason, { reconcile: last }) : this.requestSync(reason);
    }
    // Requests that arrive while one is waiting to run join it (same ordering target only):
    // a burst of packet-ins costs one recomputation, not one each.
    const pipelinable = opts.reconcile === undefined && opts.towards === undefined && opts.byDistance !== true;
    const q = this.queuedSync;
    if (q && (q.towards === opts.towards || opts.towards === undefined || q.towards === undefined)) {
      if (q.reasons.length < 3) q.reasons.push(reason);
      else q.moreReasons++;
      if (opts.reconcile) q.reconcile.add(opts.reconcile);
      q.towards ??= opts.towards;
      q.byDistance ||= opts.byDistance === true;
      q.pipelined &&= pipelinable;
      q.onlyReconcile &&= opts.reconcile !== undefined;
      return q.run;
    }
    const entry: QueuedSync = { reasons: [reason], moreReasons: 0, reconcile: new Set(opts.reconcile ? [opts.reconcile] : []), towards: opts.towards, byDistance: opts.byDistance === true, pipelined: pipelinable, onlyReconcile: opts.reconcile !== undefined, run: Promise.resolve() };
    // A change without ordering (a learned MAC, an ingress entry on demand, a port up) goes out
    // as soon as the previous change is sent, not confirmed: it is computed against the model as
    // sent, and the switch applies the batches still awaiting their barriers first (same connection).
    // Its promise, and everything queued after it on syncChain, still waits for its barriers.
    // Any other change waits until every earlier one is confirmed, as before.
    // A pipelined one starts at the end of this event-loop turn, not at the next microtask: the
    // packet-ins read from every switch meanwhile join it (one sync and one write per switch
    // for all of them, instead of a sync each).
    const previousConfirmed = this.chainConfirmed;
    const lane = pipelinable ? this.chainSent.then(() => new Promise<void>((resolve) => setImmediate(resolve))) : this.chainSent;
    const turn = lane.then(async () => {
      if (entry.onlyReconcile) await this.connectStormSettled(entry);
      if (this.queuedSync === entry) this.queuedSync = undefined;
      if (!entry.pipelined) await previousConfirmed;
      const reasons = entry.reasons.join('; ') + (entry.moreReasons > 0 ? ` and ${entry.moreReasons} more` : '');
      const unconfirmed = await this.syncOnce(reasons, {
        reconcile: [...entry.reconcile], byDistance: entry.byDistance, ...(entry.towards ? { towards: entry.towards } : {}),
        ...(entry.pipelined ? { previousConfirmed } : {}),
      });
      // No other sync waiting: the installed MAC runs have stopped growing for now (trimming them
      // between the syncs of a burst would copy a run again at each).
      if (this.queuedSync === undefined) this.installed.compact();
      // No switch waiting to be computed alone: the storm's index of entries by bridge goes.
      if (!this.queuedSync?.reconcile.size && this.tracked.switchesChanged.size === 0) {
        this.tracked.demand.indexBridges(false);
        this.tracked.departed.indexBridges(false);
        this.stormEndpoints = undefined;
        this.stormPasses = 0;
      }
      return unconfirmed;
    });
    // Resolves as requestSync always did: once this change and every earlier one are confirmed.
    entry.run = turn.then(async (t) => {
      await previousConfirmed;
      await t?.confirmed;
    });
    this.queuedSync = entry;
    this.chainConfirmed = Promise.all([previousConfirmed, entry.run.catch(() => {})]).then(() => {});
    this.chainSent = turn.then(() => {}, () => {});
    return entry.run;
  }

  private queuedSync?: QueuedSync;

  /**
   * A sync of switches that connected, while others are still in their handshake (a connect
   * storm: a restart, a network back): waits, still queued (the switches that become ready join
   * it), until none has been in its handshake or become ready for STORM_QUIET_MS, or a change
   * other than a reconcile joins, at most STORM_WAIT_MAX_MS. A storm is then read and computed
   * in one sync, not as a sync for its first switch (a pass over every location for one switch)
   * and more for the stragglers. A switch connecting alone does not wait.
   */
  private async connectStormSettled(entry: QueuedSync): Promise<void> {
    if (this.openSessions.size === this.readySessions.size) return;
    const started = performance.now();
    let ready = this.readySessions.size;
    let quietSince = started;
    while (entry.onlyReconcile && !this.stopping && performance.now() - started < STORM_WAIT_MAX_MS) {
      const now = performance.now();
      if (this.readySessions.size !== ready || this.openSessions.size !== this.readySessions.size) {
        ready = this.readySessions.size;
        quietSince = now;
      } else if (now - quietSince >= STORM_QUIET_MS) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  /** Passes over every location by syncs of a few switches since the storm's index was last dropped (see endpointsTouching). */
  private stormPasses = 0;
  /** How many such passes a storm takes before its entries are indexed by bridge (the same lists either way). */
  stormPassesBeforeIndex = PASSES_BEFORE_INDEX;
  /** During a connect storm (see endpointsTouchingIndexed): each location's Endpoint, made once. */
  private stormEndpoints?: WeakMap<Location, Endpoint>;

  /**
   * One sync (`sync`: resolves once confirmed). With `previousConfirmed` it is pipelined: it may start before the changes sent
   * before it are confirmed, computing against the model of what the switches hold (which
   * pipelined batches and prepared moves update when sent); a single unordered
   * stage is then sent without waiting, and the barriers' confirmation is returned.
   */
  private async sync(reason: string, opts: { reconcile: string[]; towards?: string; byDistance?: boolean }): Promise<void> {
    await this.syncOnce(reason, opts);
  }

  private async syncOnce(reason: string, opts: { reconcile: string[]; towards?: string; byDistance?: boolean; previousConfirmed?: Promise<void> }): Promise<Unconfirmed | undefined> {
    if (this.stopping) return undefined;
    if (!this.inCharge) {
      // A slave sends nothing; it reads back again when it becomes master.
      for (const node of opts.reconcile) this.installed.delete(node);
      return undefined;
    }
    // A pipelined full computation (a port up, say) diffs against the model as sent too: every
    // change still unconfirmed is in it (pipelined ones and prepared moves from their send; any
    // other holds the lane until confirmed), and each switch applies them before this one. A
    // refusal re-reads that switch (applyTo) as it would have anyway.
    await Promise.all(opts.reconcile.map((node) => this.readBack(node)));
    this.enterReadEntries();
    const diffs = await this.planDiffs();
    if (this.stopping) return undefined;
    const ctx = this.basis?.ctx;
    const stages = opts.byDistance && ctx
      ? stageFabricChange(diffs, ctx, (node) => this.installed.get(node)?.flows.values(), (mac) => this.locations.byMac(mac)?.node)
      : stageDiffs(diffs, this.levels(opts.towards), this.unorderedLabel(opts.towards));
    if (stages.length === 0) return undefined;
    if (this.log.isLevelEnabled('debug')) this.log.debug({ reason, stages: stages.map((s) => s.label), changes: stageCounts(stages) }, 'applying forwarding change');
    if (opts.previousConfirmed && stages.length === 1 && stages[0]!.label === this.unorderedLabel(undefined)) return this.sendUnconfirmed(stages[0]!, reason);
    await this.applyStages(stages, reason);
    return undefined;
  }

  /** The last full computation still stands for every input but the endpoints (and edge ports, checked apart). */
  private basisCurrent(basis: NonNullable<typeof this.basis>, options: ForwardingOptions): boolean {
    return basis.version === this.inputsVersion && sameOptions(basis.ctx.options, options);
  }

  /**
   * Sends one stage to its switches, each switch's model updated as it is sent (the next
   * pipelined sync diffs against it); resolves once every barrier is back. A switch that refuses
   * is re-read (applyTo), as after any failed change.
   */
  private async sendUnconfirmed(stage: TransitionStage, reason: string): Promise<Unconfirmed> {
    // Wrapped: an async function returning the promise itself would wait for it.
    return { confirmed: (await this.sendStage(stage, reason, true)).confirmed };
  }

  /**
   * Sends every switch its part of one stage (yielding between switches past the slice budget:
   * encoding a thousand switches' flows takes a while). `confirmed` settles once every barrier
   * is back and `after` settled, after the stage's event (so events keep the stages' order);
   * `perSwitch` holds each switch's own confirmation.
   */
  private async sendStage(stage: TransitionStage, reason: string, modelWhenSent = false, after: Promise<void> = Promise.resolve()): Promise<{ confirmed: Promise<void>; perSwitch: Map<string, Promise<void>> }> {
    const started = performance.now();
    const applied: string[] = [];
    const failed: string[] = [];
    const budgetMs = this.options.syncSliceMs ?? DEFAULT_SLICE_MS;
    let sliceStarted = performance.now();
    const perSwitch = new Map<string, Promise<void>>();
    for (const [node, diff] of stage.changes) {
      if (perSwitch.size > 0 && performance.now() - sliceStarted >= budgetMs) {
        await this.yieldToEventLoop();
        sliceStarted = performance.now();
      }
      perSwitch.set(node, this.applyTo(node, diff, stage.label, reason, applied, failed, modelWhenSent));
    }
    const confirmed = Promise.all([after, ...perSwitch.values()]).then(() => {
      this.emit('event', { type: 'flows-stage-applied', stage: stage.label, reason, switches: applied.sort(), failed: failed.sort(), elapsedMs: Math.round((performance.now() - started) * 1000) / 1000 });
    });
    return { confirmed, perSwitch };
  }

  /**
   * Sends stage after stage, every switch of a stage at once, each stage once every other
   * switch confirmed the stages before it. A stage for one switch alone whose earlier stages
   * are unconfirmed on that switch only (a reload's successive distances on one switch, say)
   * goes at once behind that switch's barrier: the switch finishes the messages before a barrier
   * before it starts on those after it, so the order holds without waiting for the reply.
   * Resolves once every barrier is back; stage events come in stage order.
   * `pipelined` (a prepared move): each part is in the model once sent, the first stage goes
   * without waiting for `pipelined.previous` (the changes sent before, unconfirmed: on each
   * connection the switch applies them first) and every later stage waits for it too;
   * `pipelined.sent` is called once the last stage is sent.
   */
  private async applyStages(stages: TransitionStage[], reason: string, pipelined?: { previous: Promise<void>; sent: () => void }): Promise<void> {
    // Per switch, the confirmation of the last part it was sent, until it is back.
    const unconfirmed = new Map<string, Promise<void>>();
    let announced = Promise.resolve();
    try {
      for (const [i, stage] of stages.entries()) {
        const only = stage.changes.size === 1 ? stage.changes.keys().next().value : undefined;
        const waitFor = [...unconfirmed].filter(([node]) => node !== only).map(([, confirmed]) => confirmed);
        if (pipelined && i > 0) waitFor.push(pipelined.previous);
        if (waitFor.length > 0) await Promise.all(waitFor);
        if (this.stopping) break;
        const sent = await this.sendStage(stage, reason, pipelined !== undefined, announced);
        for (const [node, confirmed] of sent.perSwitch) {
          unconfirmed.set(node, confirmed);
          const settled = () => {
            if (unconfirmed.get(node) === confirmed) unconfirmed.delete(node);
          };
          confirmed.then(settled, settled);
        }
        announced = sent.confirmed;
      }
    } catch (err) {
      // What was sent still settles; the failure reported is this one.
      announced.catch(() => {});
      throw err;
    } finally {
      pipelined?.sent();
    }
    await announced;
  }

  /** Sends one switch its part of a stage; resolves once its barrier is back (or it failed). */
  private async applyTo(node: string, diff: SwitchDiff, stage: string, reason: string, applied: string[], failed: string[], modelWhenSent = false): Promise<void> {
    const session = this.sessions.get(node);
    if (!session || session.state !== 'ready') {
      this.emit('event', { type: 'flows-skipped', switch: node, stage, reason: 'switch not connected' });
      return;
    }
    const installed = this.installed.get(node);
    const msgs = diffToMessages(diff);
    try {
      const batch = session.applyBatch(msgs);
      // A pipelined batch is in the model from now on (a refusal re-reads the switch, below).
      if (modelWhenSent && installed) {
        applyDiff(installed, diff);
        this.noteModelChange(node, diff);
      }
      const result = await batch;
      this.options.metrics?.batchApplied(msgs.length, result.elapsedMs);
      // Unless it was forgotten or re-read meanwhile, the model now holds what was confirmed
      // (a batch modelled when sent changes nothing more in it now).
      if (!modelWhenSent && installed && this.installed.get(node) === installed) {
        applyDiff(installed, diff);
        this.noteModelChange(node, diff);
      }
      applied.push(node);
      this.emit('event', { type: 'flows-applied', switch: node, stage, flowMods: msgs.length, elapsedMs: Math.round(result.elapsedMs * 1000) / 1000 });
    } catch (err) {
      failed.push(node);
      this.options.metrics?.error('batch');
      // What the switch holds is uncertain now: read it back before the next change.
      this.installed.delete(node);
      this.noteModelChange(node);
      const closed = err instanceof SessionError && err.code === 'CLOSED';
      this.log.error({ switch: node, stage, reason, err: (err as Error).message }, closed ? 'switch disconnected before confirming a forwarding change' : 'switch refused a forwarding change');
      this.emit('event', { type: 'flows-failed', switch: node, stage, error: (err as Error).message, ...(closed ? { disconnected: true } : {}) });
      void this.requestSync(`re-read ${node} after a failed change`, { reconcile: node });
    }
  }

  /** Bumps installedGeneration, noting what `diff` (none: anything) changed on `node` (see modelChanges). */
  private noteModelChange(node: string, diff?: SwitchDiff): void {
    this.installedGeneration++;
    const subjects = diff && diffSubjects(diff);
    this.modelChanges.push({ generation: this.installedGeneration, node, ...(subjects ? { subjects } : {}) });
    // Plans older than these many changes are taken as stale: a bounded log, trimmed in chunks
    // (a splice at its front per change moved the whole log each time: 3 % of the controller's
    // CPU at packet-in rates).
    if (this.modelChanges.length >= 2 * MODEL_CHANGES_KEPT) this.modelChanges.splice(0, this.modelChanges.length - MODEL_CHANGES_KEPT);
  }

  /**
   * Computes now, once the queued changes are done, what moving location `name` to `to` and
   * leaving only `migrations` in progress will send each switch, stage by stage: the flip of a
   * prepared migration, so that its commit sends without computing. Undefined when the switches'
   * state is not settled (the commit then computes as any change does).
   */
  prepareMove(name: string, to: { node: string; ofport: number }, migrations: readonly MigrationInProgress[], towards: string): Promise<PreparedMove | undefined> {
    // Once every queued change is sent, not confirmed: each is in the model by then (a pipelined
    // change from its send, any other only once confirmed) and the plan is sent after them.
    const previousConfirmed = this.chainConfirmed;
    const run = this.chainSent.then(() => {
      const plan = this.computeMove(name, to, migrations, towards);
      if (plan) plan.portEvents = this.portEvents;
      return plan;
    });
    this.chainSent = run.then(() => {}, () => {});
    this.chainConfirmed = Promise.all([previousConfirmed, this.chainSent]).then(() => {});
    return run;
  }

  /**
   * The move alone: the mover's flows before (as the switches hold them: the basis) and after
   * (its new location, the migrations `migrations`, its entries at the old edge), the flows of
   * any other MAC whose migration entry differs, and the flood groups (and, should a bridge gain
   * its first or lose its last edge port, the own flows) of the bridges whose edge ports the move
   * changes: nothing else depends on these (contextChangeFlows). Computed against the basis, so
   * only when the switches hold it: nothing pending.
   */
  private computeMove(name: string, to: { node: string; ofport: number }, migrations: readonly MigrationInProgress[], towards: string): PreparedMove | undefined {
    const was = this.locations.get(name);
    const basis = this.basis;
    const options: ForwardingOptions = { ...defaultForwardingOptions, ...this.options.forwarding };
    if (!was || this.stopping || this.tracked.changedSince.size > 0 || this.tracked.entriesChanged.size > 0 || this.pendingRemovals.size > 0 || !basis || !this.basisCurrent(basis, options)) return undefined;
    // The fabric as it will be: the mover's old port may stop, its new one start, holding a
    // location. Only the two ends' bridges change; the rest is the basis's (current: nothing
    // pending, no port changed since).
    const ends = new Set([was.node, to.node]);
    const located = new Map<string, Map<number, number>>();
    for (const node of ends) located.set(node, this.tracked.portCounts(node));
    const use = (node: string, ofport: number, delta: number) => {
      const ports = located.get(node)!;
      const n = (ports.get(ofport) ?? 0) + delta;
      if (n === 0) ports.delete(ofport);
      else ports.set(ofport, n);
    };
    use(was.node, was.ofport, -1);
    use(to.node, to.ofport, 1);
    const reported = new Map<string, ReadonlyMap<number, SwitchPort>>();
    for (const node of ends) {
      const s = this.sessions.get(node);
      if (s?.state === 'ready') reported.set(node, s.ports);
    }
    const fabric = refreshBridges(basis.ctx.fabric, this.topology, reported, new Map([...located].map(([node, ports]) => [node, ports.keys()])), ends);
    // Paths, tree and labels are the basis's: the tunnels cannot have changed while it is current.
    if (!sameTunnels(basis.ctx.fabric, fabric)) return undefined;
    const ctx: ForwardingContext = { ...basis.ctx, demand: this.tracked.demand, departed: this.tracked.departed };
    // The move's own entries, as TrackedLocations will note them when it is applied.
    const moved = was.node !== to.node;
    const next: ForwardingContext = {
      ...ctx, fabric, bridges: [...fabric.bridges.keys()], migrations: migrationsByMac(migrations),
      demand: moved ? withEntry(this.tracked.demand, was.node, was.mac) : this.tracked.demand,
      departed: moved ? withEntry(this.tracked.departed, was.node, was.mac) : this.tracked.departed,
    };
    const endpointIn = (l: Location | undefined) => (l && fabric.bridges.has(l.node) ? endpointOf(l) : undefined);
    const mover: EndpointChange = { before: endpointIn(was), after: endpointIn({ ...was, node: to.node, ofport: to.ofport }) };
    const changes = withMigrationChanges(ctx, next, [mover], (mac) => endpointIn(this.locations.byMac(mac)));
    const parts = contextChangeFlows(ctx, next, changes);
    const diffs = new Map<string, SwitchDiff>();
    for (const [node, s] of this.sessions) {
      const installed = this.installed.get(node);
      const part = parts.get(node);
      if (s.state === 'ready' && installed && part) diffs.set(node, diffConfinedChange(part, installed, OWN));
    }
    return {
      name, from: { node: was.node, ofport: was.ofport }, to, towards, migrations: JSON.stringify(migrations), ctx: next,
      stages: this.stageMove(diffs, next, towards, was.mac),
      otherInputs: this.inputsVersion, installedGeneration: this.installedGeneration,
    };
  }

  /**
   * A move's stages: each ready switch's change, in one stage when the new edge already
   * delivers what reaches it for the mover, else levelled along paths to `towards`.
   */
  private stageMove(diffs: ReadonlyMap<string, SwitchDiff>, ctx: ForwardingContext, towards: string, mac: string): TransitionStage[] {
    // Only flows towards the mover change: a switch waits for the changed switches on its own
    // path to the new location, not for every switch nearer to it.
    const nextBridge = (from: string, to: string) => {
      const port = ctx.paths.nextHop(from, to);
      return port === undefined ? undefined : ctx.fabric.bridges.get(from)?.tunnels.find((t) => t.ofport === port)?.peer;
    };
    const changed = [...diffs].filter(([, d]) => !isEmptyDiff(d)).map(([node]) => node);
    const levels = this.sessions.get(towards)?.state !== 'ready' ? []
      : this.deliversAlready(towards, diffs.get(towards), mac) ? [changed]
      : levelsAlongPaths(changed, towards, nextBridge);
    // Only commits are prepared: the mover's hold and seal flows go with their switch's part.
    return stageDiffs(diffs, levels, this.unorderedLabel(towards), { holdWithLevel: true });
  }

  /**
   * Whether `node` already delivers frames labelled for it and sent to `mac` as its part of the
   * move will: the prepared migration's copy flow there has the match and the instructions of
   * the delivery flow the move adds (a copy is told apart by its mark, which neither matches).
   * Then what the other switches turn to (their frames for the mover labelled for the new edge)
   * is delivered before the new edge's own turn, and they need not wait for it: the walks of
   * test/controller/migration-flip.test.ts check every order of a one-stage flip.
   */
  private deliversAlready(node: string, part: SwitchDiff | undefined, mac: string): boolean {
    const deliver = ruleCookie(RuleKind.DELIVER, mac);
    const add = part?.flowsToAdd.find((f) => f.cookie === deliver);
    // installedFlow, not installed.flows: the copy flow matches eth_dst, so it is kept with the MAC flows.
    const installed = this.installed.get(node);
    const held = add && installed && installedFlow(installed, add);
    return add !== undefined && held !== undefined && cookieKind(held.cookie) === RuleKind.MIGRATION_COPY && instructionsKey(held.instructions) === instructionsKey(add.instructions);
  }

  /**
   * Applies a move prepared ahead (after the location and migrations were updated to match it),
   * in turn with every other change; if anything it was based on changed meanwhile, computes
   * the change afresh instead. A plan that still holds goes out as soon as the changes queued
   * before it are sent, without waiting for their barrier replies: they are in the model it
   * was checked against, and each switch applies them before it (same connection). Resolves
   * once every barrier is back, theirs and its own.
   */
  requestPreparedMove(reason: string, plan: PreparedMove): Promise<void> {
    const previousConfirmed = this.chainConfirmed;
    let markSent!: () => void;
    const sent = new Promise<void>((resolve) => (markSent = resolve));
    const run = this.chainSent.then(async () => {
      if (this.stopping) return;
      const stale = this.preparedMoveStale(plan);
      if (stale.length > 0) {
        this.lastStaleReasons = stale;
        // Computed afresh from the confirmed state, as any full computation (the changes
        // queued after it wait until it is sent and confirmed).
        await previousConfirmed;
        this.log.debug({ reason, stale }, 'a forwarding change prepared ahead is stale: computing it afresh');
        return this.sync(reason, { reconcile: [], towards: plan.towards });
      }
      this.syncCounts.prepared++;
      this.tracked.changedSince.clear();
      this.tracked.portSetChanged = false;
      // The plan saw the move's entries through a view; from now on the live sets hold them.
      this.basis = { version: this.inputsVersion, ctx: { ...plan.ctx, demand: this.tracked.demand, departed: this.tracked.departed } };
      this.log.debug({ reason, stages: plan.stages.map((s) => s.label) }, 'applying a forwarding change prepared ahead');
      await this.applyStages(plan.stages, reason, { previous: previousConfirmed, sent: markSent });
      await previousConfirmed;
    }).finally(markSent);
    this.chainSent = sent;
    this.chainConfirmed = Promise.all([previousConfirmed, run.catch(() => {})]).then(() => {});
    return run;
  }

  /** What changed since `plan` was made that its desired state did not foresee; empty: it holds. */
  private preparedMoveStale(plan: PreparedMove): string[] {
    const now = this.locations.get(plan.name);
    const before = this.tracked.changedSince.get(plan.name);
    const options: ForwardingOptions = { ...defaultForwardingOptions, ...this.options.forwarding };
    const stale: string[] = [];
    const mac = now?.mac ?? before?.mac;
    // Port events (a link up, a port added) matter only through the fabric: the plan's, as it
    // will be after the move, must be the fabric now (the location already moved).
    const portEventsOnly = plan.portEvents !== undefined && plan.otherInputs + (this.portEvents - plan.portEvents) === this.inputsVersion;
    let fabricNow: Fabric | undefined;
    const sameFabricNow = () => {
      fabricNow ??= this.fabric();
      return sameTunnels(plan.ctx.fabric, fabricNow) && sameEdgePorts(plan.ctx.fabric, fabricNow);
    };
    if (plan.otherInputs !== this.inputsVersion && !(portEventsOnly && sameFabricNow())) stale.push('inputs');
    if (plan.installedGeneration !== this.installedGeneration && !(mac && this.changesMissPlan(plan, mac) && sameFabricNow())) stale.push('switch tables');
    if (now === undefined || now.node !== plan.to.node || now.ofport !== plan.to.ofport) stale.push('destination');
    if (this.tracked.changedSince.size !== 1 || before === undefined || before.node !== plan.from.node || before.ofport !== plan.from.ofport) stale.push('pending locations');
    // Entries asked for meanwhile (a peer's first frames to a MAC its edge has no entry for) go
    // with the sync that asked for them, queued after this change: they need not spoil the plan
    // unless they are the mover's own (their flows lead to where it was).
    const entriesNotMovers = mac !== undefined && !this.tracked.entriesChanged.has(mac);
    if ((this.tracked.entriesChanged.size !== 0 && !entriesNotMovers) || this.pendingRemovals.size !== 0) stale.push('pending entries');
    if (JSON.stringify(this.activeMigrations) !== plan.migrations) stale.push('migrations');
    if (!sameOptions(plan.ctx.options, options)) stale.push('options');
    // A switch connected or went since: the plan stands if the fabric it assumed still does.
    if (this.tracked.switchesChanged.size !== 0 && !sameFabricNow()) stale.push('switches');
    return stale;
  }

  /**
   * Whether every change made to the model since `plan` was computed left the plan's flows
   * alone: flows only (no group, meter, read-back or switch gone), none of the mover's `mac` and
   * none of a subject (MAC) whose flows the plan changes on that switch. Such changes are other
   * MACs' own flows (an ingress entry, a learned neighbour), which the move does not alter: the
   * plan plus them is what a computation now would send.
   */
  private changesMissPlan(plan: PreparedMove, mac: string): boolean {
    const since = this.modelChanges.filter((c) => c.generation > plan.installedGeneration);
    if (since.length !== this.installedGeneration - plan.installedGeneration) return false;
    const mover = ruleCookie(0, mac) & SUBJECT_MASK;
    const planSubjects = new Map<string, Set<bigint> | undefined>();
    for (const stage of plan.stages) {
      for (const [node, diff] of stage.changes) {
        const subjects = diffSubjects(diff);
        const had = planSubjects.get(node);
        if (planSubjects.has(node) && had === undefined) continue;
        planSubjects.set(node, subjects === undefined ? undefined : new Set([...(had ?? []), ...subjects]));
      }
    }
    for (const c of since) {
      if (!c.subjects || c.subjects.has(mover)) return false;
      if (!planSubjects.has(c.node)) continue;
      const touched = planSubjects.get(c.node);
      if (touched === undefined) return false;
      for (const subject of c.subjects) if (touched.has(subject)) return false;
    }
    return true;
  }

  /**
   * The label of changes that have no place in the ordering: with no target none is needed;
   * with a target whose switch is not connected there are no paths to order by.
   */
  private unorderedLabel(towards: string | undefined): string {
    if (towards === undefined) return 'unordered';
    return this.sessions.get(towards)?.state === 'ready' ? 'off-path' : 'no-switch-connected';
  }

  /**
   * Per switch to update (ready, installed state known), the change to its desired state:
   * from the changed endpoints' flows alone when nothing else changed since the last full
   * computation, else from everything, bridge slice by bridge slice (see computeInSlices).
   */
  private async planDiffs(): Promise<Map<string, SwitchDiff>> {
    const targets: string[] = [];
    for (const [node, s] of this.sessions) if (s.state === 'ready' && this.installed.has(node)) targets.push(node);
    const options: ForwardingOptions = { ...defaultForwardingOptions, ...this.options.forwarding };
    const basis = this.basis;
    if (basis && this.basisCurrent(basis, options)) {
      // Edge ports that gained their first or lost their last location, over the same tunnels:
      // the flood groups of their bridges change (and the label flows towards a bridge that
      // becomes or stops being an edge), confined too (contextChangeFlows). A switch that
      // connected or went reports its ports (or is assumed to hold the planned ones): the same
      // check, over every bridge.
      const switchesChanged = [...this.tracked.switchesChanged];
      const fabric = this.fabricIfChanged(basis.ctx.fabric, switchesChanged);
      if (!fabric || sameTunnels(basis.ctx.fabric, fabric)) {
        this.syncCounts.endpoints++;
        const diffs = this.endpointDiffs(basis, targets, fabric);
        if (switchesChanged.length === 0) return diffs;
        // Each switch that connected or was read back: its whole state against what it holds
        // (the endpoint path's part for it is in there too).
        this.syncCounts.switches += switchesChanged.length;
        this.tracked.switchesChanged.clear();
        const ctx = this.basis!.ctx;
        const ready = new Set(targets);
        const whole = switchesChanged.filter((n) => ready.has(n) && ctx.fabric.bridges.has(n));
        if (whole.length === 0) return diffs;
        // The other switches' flows stay cached (forget false): the next computation shares them.
        for (const [node, diff] of await this.computeInSlices(ctx, this.endpointsTouching(ctx, new Set(whole)), whole, false)) diffs.set(node, diff);
        return diffs;
      }
    }
    this.syncCounts.full++;
    this.tracked.switchesChanged.clear();
    const fabric = this.fabric();
    const ctx = this.contextFor(fabric, options);
    const endpoints = this.locations.endpoints().filter((e) => fabric.bridges.has(e.at.bridge));
    // What changes from here on (while the slices yield) is noted afresh for the next sync.
    this.tracked.changedSince.clear();
    this.tracked.portSetChanged = false;
    this.tracked.entriesChanged.clear();
    this.pendingRemovals.clear();
    this.pruneEntries();
    this.basis = { version: this.inputsVersion, ctx };
    return this.computeInSlices(ctx, endpoints, targets.filter((n) => fabric.bridges.has(n)));
  }

  /** The last forwarding context built. */
  private lastContext?: ForwardingContext;

  /**
   * The forwarding context of `fabric`. Building the paths (all pairs) is the costliest step at
   * a thousand bridges, and they depend on the tunnels alone (which exist and are up), as does
   * the flooding tree: a switch connecting changes its edge ports, as a rule not the tunnels.
   * So while the tunnels and the options stay the same, the last context's paths and tree are
   * kept, with this fabric and the migrations now: a connect storm builds them once, not per sync.
   */
  private contextFor(fabric: Fabric, options: ForwardingOptions): ForwardingContext {
    const last = this.lastContext;
    if (last && sameOptions(last.options, options) && sameTunnels(last.fabric, fabric)) {
      // Paths, tree, labels and label root depend on the bridges and tunnels alone.
      const ctx: ForwardingContext = {
        ...last, fabric, bridges: [...fabric.bridges.keys()], migrations: migrationsByMac(this.migrations), demand: this.tracked.demand, departed: this.tracked.departed,
      };
      this.lastContext = ctx;
      return ctx;
    }
    const ctx = forwardingContext({ fabric, migrations: this.migrations, options, demand: this.tracked.demand, departed: this.tracked.departed });
    this.lastContext = ctx;
    return ctx;
  }

  /**
   * The full computation for `targets`, yielding to the event loop between chunks: at a thousand
   * bridges it takes seconds, during which the other switches' keepalives and packet-ins must
   * still be answered. The desired state of all targets is built a chunk of endpoints at a time
   * (each endpoint's flows computed once, for the targets only), then diffed against what they
   * hold a slice of bridges at a time. The shared FlowCache keeps the computation's flows until
   * it is done, then (`forget`) drops what none used; the whole state of some switches alone keeps
   * the rest. `endpoints` by bridge: those touching the targets. The installed state of a switch
   * that disconnects meanwhile is gone: it is skipped (its reconnect reconciles).
   */
  private async computeInSlices(ctx: ForwardingContext, endpoints: readonly Endpoint[] | ReadonlyMap<string, readonly Endpoint[]>, targets: readonly string[], forget = true): Promise<Map<string, SwitchDiff>> {
    const diffs = new Map<string, SwitchDiff>();
    const list = Array.isArray(endpoints) ? endpoints as readonly Endpoint[] : endpointsOfSlice(endpoints as ReadonlyMap<string, readonly Endpoint[]>, targets);
    this.flowCache.begin();
    try {
      const builder = new DesiredStateBuilder({ ...ctx, bridges: targets }, this.flowCache);
      // The flows no endpoint determines, then the endpoints', then the diffs: all in chunks.
      await this.inChunks(targets.length, 1, MAX_SLICE_BRIDGES, (from, to) => builder.addBridges(from, to));
      await this.inChunks(list.length, 256, MAX_SLICE_ENDPOINTS, (from, to) => builder.addEndpoints(list, from, to));
      const desired = builder.build();
      await this.inChunks(targets.length, 1, MAX_SLICE_BRIDGES, (from, to) => {
        for (let i = from; i < to; i++) {
          const node = targets[i]!;
          const installed = this.installed.get(node);
          if (installed) diffs.set(node, diffInstalled(desired.get(node) ?? EMPTY, installed, OWN));
          // Its desired state is not needed past its diff.
          desired.delete(node);
        }
      });
    } finally {
      this.flowCache.end(forget);
    }
    return diffs;
  }

  /**
   * Lets timers and I/O run before a long computation or send goes on. Node takes one pending
   * connection from a listening socket per turn of its event loop: with the loop busy in 20 ms
   * slices, a thousand switches reconnecting after a restart waited in the kernel's accept queue
   * and were taken at ~50 a second (a restart at 1,000 switches took 17 s, most of it switches
   * trickling in one sync at a time). So the yield takes further turns as long as each one
   * accepts a connection.
   */
  private async yieldToEventLoop(): Promise<void> {
    for (let turns = 0; turns < MAX_ACCEPT_TURNS; turns++) {
      const accepted = this.acceptedConnections;
      await nextTurn();
      if (this.acceptedConnections === accepted) return;
    }
  }

  /**
   * `work` over [0, count) in chunks, yielding to the event loop between them (see
   * computeInSlices): each chunk sized from the last one's cost per item to take about the sync
   * slice budget (the items of one kind differ little in cost), `first` items to start with.
   */
  private async inChunks(count: number, first: number, max: number, work: (from: number, to: number) => void): Promise<void> {
    const budgetMs = this.options.syncSliceMs ?? DEFAULT_SLICE_MS;
    let size = first;
    for (let i = 0; i < count && !this.stopping;) {
      const t0 = performance.now();
      const end = Math.min(count, i + size);
      work(i, end);
      const perItem = Math.max((performance.now() - t0) / (end - i), 0.0001);
      i = end;
      size = budgetMs <= 0 ? 1 : Math.min(max, Math.max(1, Math.floor(budgetMs / perItem)));
      if (i < count) await this.yieldToEventLoop();
    }
  }

  /**
   * The endpoint-only path: the installed state is the desired one but for the endpoints that
   * changed since, the endpoints whose migration entry changed (before under the basis's
   * migrations, after under today's, which the basis takes from now on), the endpoints whose
   * demand or departed entries grew (their flows computed anew: what is installed already is
   * left alone), flows left over from removed entries, and with `fabric` (the same tunnels, other
   * edge ports) the state of the bridges whose edge ports changed.
   */
  private endpointDiffs(basis: Basis, targets: string[], fabric?: Fabric): Map<string, SwitchDiff> {
    const bridges = basis.ctx.fabric.bridges;
    const endpoint = (l: Location | undefined) => (l && bridges.has(l.node) ? endpointOf(l) : undefined);
    const migrations = migrationsByMac(this.activeMigrations);
    const migrating = changedMigrations(basis.ctx.migrations, migrations);
    const next: ForwardingContext = migrating.size === 0 && !fabric ? basis.ctx
      : { ...basis.ctx, migrations, ...(fabric ? { fabric, bridges: [...fabric.bridges.keys()] } : {}) };
    const changes: EndpointChange[] = [];
    const gone: string[] = [];
    for (const [name, was] of this.tracked.changedSince) {
      const before = endpoint(was);
      const now = this.locations.get(name);
      const after = endpoint(now);
      if (!now && was) gone.push(was.mac);
      if (!sameEndpoint(before, after)) changes.push({ before, after });
    }
    for (const mac of this.tracked.entriesChanged) {
      const now = this.locations.byMac(mac);
      if (now && !this.tracked.changedSince.has(now.name)) {
        const ep = endpoint(now);
        // Its flows of the old migration entry go too.
        if (ep) changes.push(migrating.has(ep.mac.toLowerCase()) ? { before: ep, after: ep } : { after: ep });
      }
    }
    this.tracked.changedSince.clear();
    this.tracked.entriesChanged.clear();
    const diffs = new Map<string, SwitchDiff>();
    const ready = new Set(targets);
    const all = withMigrationChanges(basis.ctx, next, changes, (mac) => endpoint(this.locations.byMac(mac)));
    if (next !== basis.ctx) this.basis = { version: basis.version, ctx: next };
    for (const [node, part] of contextChangeFlows(basis.ctx, next, all)) {
      if (!ready.has(node)) continue;
      const extra = this.pendingRemovals.get(node);
      diffs.set(node, diffConfinedChange(extra ? { ...part, before: [...part.before, ...extra] } : part, this.installed.get(node)!, OWN));
    }
    for (const [node, extra] of this.pendingRemovals) {
      if (!diffs.has(node) && ready.has(node)) diffs.set(node, diffFlowChange(extra, [], this.installed.get(node)!));
    }
    this.pendingRemovals.clear();
    // Their flows are gone now (computed above with the entries): so go the entries.
    for (const mac of gone) if (!this.locations.byMac(mac)) {
      this.tracked.demand.deleteMac(mac);
      this.tracked.departed.deleteMac(mac);
    }
    for (const c of all) if (c.after) this.tracked.departed.delete(c.after.at.bridge, c.after.mac);
    return diffs;
  }

  /**
   * Per bridge of `bridges`, the endpoints with a flow on it (their own, a migration's new edge,
   * ingress or relabel entries), in one pass over the table that builds only those: a connect
   * storm's syncs each ask it at 100k locations, and each slice then reads its own bridges'
   * lists, not all of them. In no particular order (a switch's flows in another order are the
   * same table).
   */
  private endpointsTouching(ctx: ForwardingContext, bridges: ReadonlySet<string>): Map<string, Endpoint[]> {
    const { demand, departed } = this.tracked;
    // A few switches of many: their MACs through the entries indexed by bridge (kept while the
    // storm lasts), not a pass over every location per sync.
    // The index costs about as much to build as a few passes over every location (it holds every
    // entry: 800k at 100k containers), and a storm's switches now mostly come in one or two
    // syncs (see yieldToEventLoop): built once a storm has taken that many passes.
    if (ctx.demand === demand && ctx.departed === departed && bridges.size * 4 <= ctx.fabric.bridges.size && (demand.indexed || ++this.stormPasses > this.stormPassesBeforeIndex)) {
      demand.indexBridges(true);
      departed.indexBridges(true);
      return this.endpointsTouchingIndexed(ctx, bridges);
    }
    const out = new Map<string, Endpoint[]>([...bridges].map((b) => [b, []]));
    const put = (bridge: string | undefined, ep: Endpoint) => {
      if (bridge === undefined) return;
      const list = out.get(bridge);
      if (list && list.at(-1) !== ep) list.push(ep);
    };
    for (const l of this.tracked.values()) {
      if (!ctx.fabric.bridges.has(l.node) || !endpointTouches(ctx, l.mac, l.node, bridges)) continue;
      // Placed where endpointTouches found it: its bridge, a migration's new edge, its entries.
      const ep = endpointOf(l);
      put(l.node, ep);
      put(ctx.migrations.get(l.mac)?.to.bridge, ep);
      for (const b of ctx.demand.bridgesOf(l.mac) ?? []) put(b, ep);
      for (const b of ctx.departed.bridgesOf(l.mac) ?? []) put(b, ep);
    }
    return out;
  }

  /** endpointsTouching through the demand and departed entries indexed by bridge: the same lists, each without repeats. */
  private endpointsTouchingIndexed(ctx: ForwardingContext, bridges: ReadonlySet<string>): Map<string, Endpoint[]> {
    const { demand, departed } = this.tracked;
    const arriving = new Map<string, string[]>();
    for (const [mac, m] of ctx.migrations) {
      if (!bridges.has(m.to.bridge)) continue;
      const macs = arriving.get(m.to.bridge);
      if (macs) macs.push(mac);
      else arriving.set(m.to.bridge, [mac]);
    }
    // One Endpoint per location, shared by the lists of the bridges it touches and, while the
    // storm lasts, by its syncs (a location changed is another object: no stale endpoint).
    const made = (this.stormEndpoints ??= new WeakMap());
    const out = new Map<string, Endpoint[]>();
    for (const bridge of bridges) {
      const list: Endpoint[] = [];
      const seen = new Set<string>();
      const take = (l: Location | undefined) => {
        if (!l || seen.has(l.name) || !ctx.fabric.bridges.has(l.node)) return;
        seen.add(l.name);
        let ep = made.get(l);
        if (!ep) made.set(l, (ep = endpointOf(l)));
        list.push(ep);
      };
      for (const name of this.tracked.namesAt(bridge)) take(this.tracked.get(name));
      for (const mac of arriving.get(bridge) ?? []) take(this.tracked.byMac(mac));
      for (const mac of demand.macsAt(bridge) ?? []) take(this.tracked.byMac(mac));
      for (const mac of departed.macsAt(bridge) ?? []) take(this.tracked.byMac(mac));
      out.set(bridge, list);
    }
    return out;
  }

  /** Demand and departed entries of MACs no longer known (a full computation no longer produces their flows). */
  private pruneEntries(): void {
    for (const set of [this.tracked.demand, this.tracked.departed]) {
      // By MAC (100k), not by entry (800k at 100k containers).
      const stale: string[] = [];
      for (const mac of set.macs()) if (!this.locations.byMac(mac)) stale.push(mac);
      for (const mac of stale) set.deleteMac(mac);
    }
    // A MAC back where it had left: delivered there, nothing to relabel.
    const back: [string, string][] = [];
    for (const [bridge, mac] of this.tracked.departed.entries()) if (this.locations.byMac(mac)?.node === bridge) back.push([bridge, mac]);
    for (const [bridge, mac] of back) this.tracked.departed.delete(bridge, mac);
  }

  /**
   * The fabric now if its tunnels or edge ports differ from `fabric`'s, else undefined: after a
   * port gained its first or lost its last location every bridge is built again, else only those
   * of `nodes` (switches that connected, went or were read back: a bridge depends on its own
   * ports alone, and a connect storm asks this once per sync).
   */
  private fabricIfChanged(fabric: Fabric, nodes: readonly string[]): Fabric | undefined {
    if (!this.tracked.portSetChanged && nodes.length === 0) return undefined;
    let now: Fabric;
    if (this.tracked.portSetChanged) now = this.fabric();
    else {
      const reported = new Map<string, ReadonlyMap<number, SwitchPort>>();
      const located = new Map<string, Iterable<number>>();
      for (const node of nodes) {
        const s = this.sessions.get(node);
        if (s?.state === 'ready') reported.set(node, s.ports);
        const ports = this.tracked.portsAt(node);
        if (ports) located.set(node, ports);
      }
      now = refreshBridges(fabric, this.topology, reported, located, nodes.filter((n) => this.topology.nodes[n] !== undefined));
    }
    this.tracked.portSetChanged = false;
    return sameTunnels(fabric, now) && sameEdgePorts(fabric, now) ? undefined : now;
  }

  /** The fabric as the switches report it, with the edge ports that hold locations. */
  private fabric(): Fabric {
    const reported = new Map<string, ReadonlyMap<number, SwitchPort>>();
    for (const [node, s] of this.sessions) if (s.state === 'ready') reported.set(node, s.ports);
    const located = new Map<string, Iterable<number>>();
    for (const [node, ports] of this.tracked.portsByNode()) located.set(node, ports);
    return fabricFromTopology(this.topology, reported, located);
  }

  /** Levels for ordering a change towards `target` (nearest first), over the current paths. */
  private levels(target: string | undefined): string[][] {
    const paths = this.basis?.ctx.paths;
    if (!target || !paths) return [];
    return levelsTowards(Object.keys(this.topology.nodes), (n) => paths.distance(n, target));
  }

  /** Ingress and relabel entries found by read-backs, entered together once they are all in (enterReadEntries). */
  private readonly readEntries = { demand: newEntryList(), departed: newEntryList() };

  private enterReadEntries(): void {
    const { demand, departed } = this.readEntries;
    // Each MAC kept as its container's own string (the read-back's are copies).
    const keyOf = (mac: string) => this.locations.byMac(mac)?.mac ?? mac;
    if (demand.bridges.length > 0) this.tracked.demand.addMany(demand.bridges, demand.macs, keyOf);
    if (departed.bridges.length > 0) this.tracked.departed.addMany(departed.bridges, departed.macs, keyOf);
    this.readEntries.demand = newEntryList();
    this.readEntries.departed = newEntryList();
  }

  /** Reads a switch's flows (ours only, by cookie), groups and meters: the reconcile baseline. */
  private async readBack(node: string): Promise<void> {
    const session = this.sessions.get(node);
    if (!session || session.state !== 'ready') return;
    try {
      const [flows, groupParts, meterParts] = await Promise.all([
        // Read raw: a flow equal to one we want is compared as bytes, not decoded (see findRead).
        session.multipartRawFlows({ kind: 'FLOW', tableId: 0xff, outPort: Port.ANY, outGroup: 0xffffffff, cookie: COOKIE_OWNER_VALUE, cookieMask: COOKIE_OWNER_MASK, match: { fields: [] } }),
        session.multipart({ kind: 'GROUP_DESC' }),
        session.multipart({ kind: 'METER_CONFIG', meterId: 0xffffffff }),
      ]);
      const state: SwitchState = { flows: [], groups: [], meters: [] };
      for (const p of groupParts) if (p.kind === 'GROUP_DESC') for (const g of p.groups) state.groups.push({ groupId: g.groupId, groupType: g.groupType as 'ALL', buckets: g.buckets });
      for (const p of meterParts) if (p.kind === 'METER_CONFIG') for (const m of p.meters) state.meters.push({ meterId: m.meterId, flags: m.flags, bands: m.bands });
      // A flow of one MAC (an unmasked eth_dst, else eth_src: macOf) stays raw, by MAC; the others
      // are decoded. Entries installed before (by us, before a restart, or by the master before a
      // failover) stay wanted: traffic asked for them.
      const byMac = new Map<string, RawFlowStats[]>();
      let macFlows = 0;
      // Entered with those of the other switches read in this sync (see syncOnce).
      const { demand, departed } = this.readEntries;
      for (const f of flows) {
        // The cookie's high half: owner and kind without a BigInt operation each.
        const cookieHigh = f.cookieHigh;
        if (!isOurCookieHigh(cookieHigh)) continue;
        const dstAt = rawOxmValueAt(f, OXM_ETH_DST);
        const macAt = dstAt >= 0 ? dstAt : rawOxmValueAt(f, OXM_ETH_SRC);
        if (macAt < 0) {
          state.flows.push(readFlowSpec(f));
          continue;
        }
        const mac = formatMac(f.frame, macAt);
        macFlows++;
        const list = byMac.get(mac);
        if (list) list.push(f);
        else byMac.set(mac, [f]);
        if (dstAt < 0) continue;
        const kind = cookieKindHigh(cookieHigh);
        if (kind === RuleKind.INGRESS_ENTRY) {
          demand.bridges.push(node);
          demand.macs.push(mac);
        } else if (kind === RuleKind.RELABEL && rawOxmValueAt(f, OXM_IN_PORT) < 0) {
          departed.bridges.push(node);
          departed.macs.push(mac);
        }
      }
      this.installed.index(node, state, byMac);
      this.noteModelChange(node);
      // What was read back need not be what the basis assumes: only a diff of its whole state brings it in line.
      this.tracked.switchesChanged.add(node);
      this.log.info({ switch: node, flows: state.flows.length + macFlows, groups: state.groups.length, meters: state.meters.length }, 'read back installed state');
    } catch (err) {
      this.log.error({ switch: node, err: (err as Error).message }, 'could not read back the switch state');
    }
  }

  // ------------------------------------------------------------------------------ API views

  switchInfo(): SwitchInfo[] {
    const out: SwitchInfo[] = [];
    for (const node of Object.values(this.topology.nodes)) {
      const s = this.sessions.get(node.name);
      out.push({
        name: node.name, dpid: node.bridge.dpid, connected: s?.state === 'ready', remote: s?.remote ?? null,
        ports: s ? [...s.ports.values()].map(portView).sort((a, b) => a.portNo - b.portNo) : [],
        flowCount: ((i) => (i ? countInstalled(i) : 0))(this.installed.get(node.name)), fallback: false,
      });
    }
    for (const [dpid, s] of this.unknownSessions) {
      out.push({ name: null, dpid, connected: s.state === 'ready', remote: s.remote, ports: [...s.ports.values()].map(portView), flowCount: 1, fallback: true });
    }
    return out;
  }

  /** The flows a switch holds now (read from the switch, not from our model). */
  async installedFlows(node: string): Promise<import('../../src/openflow/types/index.js').FlowStats[] | undefined> {
    const session = this.sessions.get(node);
    if (!session || session.state !== 'ready') return undefined;
    const parts = await session.multipart({ kind: 'FLOW', tableId: 0xff, outPort: Port.ANY, outGroup: 0xffffffff, cookie: 0n, cookieMask: 0n, match: { fields: [] } });
    return parts.flatMap((p) => (p.kind === 'FLOW' ? p.flows : []));
  }

  // ------------------------------------------------------------------------------ state file

  private saving: Promise<void> = Promise.resolve();

  private saveQueued?: Promise<void>;

  /**
   * Saves locations and migrations to the store (the state file: written atomically, see
   * FileStateStore). Writes are serialised and coalesced: while one is in progress at most one
   * more waits, and it takes its snapshot when it starts, so a burst of changes costs two writes
   * and every caller's change is stored when its promise resolves. A failed save is logged, kept
   * in `lastSaveError` and retried with the next change and on a backoff timer (scheduleSaveRetry):
   * the memory copy stays authoritative and reaches the store once it is back.
   */
  saveState(): Promise<void> {
    const store = this.store;
    if (!store || !this.inCharge) return Promise.resolve();
    if (this.saveQueued) return this.saveQueued;
    const run = this.saving.then(async () => {
      this.saveQueued = undefined;
      const batch = store.saveChanges ? this.takeUnsaved() : undefined;
      if (!store.saveChanges) {
        await store.save({ locations: this.locations.toJSON(), migrations: asArray(this.extraState()) });
      } else if (batch) {
        try {
          await store.saveChanges(batch.changes);
        } catch (err) {
          this.giveBackUnsaved(batch);
          throw err;
        }
      }
      if (!this.storeHealthy) this.log.info({ store: store.description, attempts: this.saveFailures + 1 }, 'state saved again after a failure');
      this.storeHealthy = true;
      this.lastSaveError = undefined;
      this.saveFailures = 0;
      clearTimeout(this.saveRetryTimer);
      this.saveRetryTimer = undefined;
    }).catch((err: Error) => {
      const first = this.storeHealthy;
      this.storeHealthy = false;
      this.lastSaveError = err;
      this.saveFailures++;
      this.options.metrics?.error('state-save');
      const retryMs = this.scheduleSaveRetry();
      // The first failure is an error; the retries that follow are not news until one works.
      const line = { err: err.message, store: store.description, failures: this.saveFailures, retryMs };
      const what = `could not save the ${store instanceof FileStateStore ? 'state file' : 'state'}: the previous copy is kept`;
      if (first) this.log.error(line, what);
      else this.log.debug(line, what);
    });
    this.saveQueued = run;
    this.saving = run;
    return run;
  }

  /** What changed since the last successful save; undefined: the next save writes everything. */
  private unsavedExtra?: Set<string>;

  /** Notes that the stored row of migration `id` changed (or went): the next save writes it. */
  noteExtraChanged(id: string): void {
    this.unsavedExtra?.add(id);
  }

  /** The next save writes the whole state (after a start, a load, a change of role). */
  private saveAllNext(): void {
    this.tracked.unsaved = undefined;
    this.unsavedExtra = undefined;
  }

  /**
   * The changes the next save writes, taken from the dirty sets (which start afresh): the whole
   * state after saveAllNext, else the rows of the names and ids noted since. undefined: nothing.
   */
  private takeUnsaved(): { changes: StateChanges; names?: Set<string>; ids?: Set<string> } | undefined {
    const names = this.tracked.unsaved;
    const ids = this.unsavedExtra;
    this.tracked.unsaved = new Set();
    this.unsavedExtra = new Set();
    if (!names || !ids) {
      return { changes: { full: true, locations: [...this.locations.values()], removedLocations: [], migrations: asArray(this.extraState()), removedMigrations: [] } };
    }
    if (names.size === 0 && ids.size === 0) return undefined;
    const changes: StateChanges = { full: false, locations: [], removedLocations: [], migrations: [], removedMigrations: [] };
    for (const name of names) {
      const row = this.locations.get(name);
      if (row) changes.locations.push(row);
      else changes.removedLocations.push(name);
    }
    for (const id of ids) {
      const row = this.extraRow(id);
      if (row !== undefined) changes.migrations.push(row);
      else changes.removedMigrations.push(id);
    }
    return { changes, names, ids };
  }

  /** A failed save's changes are due again (with whatever changed meanwhile). */
  private giveBackUnsaved(batch: { changes: StateChanges; names?: Set<string>; ids?: Set<string> }): void {
    if (batch.changes.full) return this.saveAllNext();
    for (const n of batch.names ?? []) this.tracked.unsaved?.add(n);
    for (const id of batch.ids ?? []) this.unsavedExtra?.add(id);
  }

  /** Failed saves in a row (0 once one succeeds). */
  private saveFailures = 0;
  private saveRetryTimer?: NodeJS.Timeout;
  /** The delays of the retries scheduled since the last success, ms (tests, status). */
  readonly saveRetryDelays: number[] = [];

  /**
   * Retries a failed save after a delay that doubles with every failure in a row, capped.
   * Not while stopping or not in charge (a deposed master's successor owns the state). Returns
   * the delay, or null when no retry was scheduled.
   */
  private scheduleSaveRetry(): number | null {
    if (this.stopping || !this.inCharge) return null;
    if (this.saveFailures === 1) this.saveRetryDelays.length = 0;
    const initial = this.options.saveRetry?.initialMs ?? 100;
    const max = this.options.saveRetry?.maxMs ?? 2000;
    const delay = Math.min(initial * 2 ** Math.min(this.saveFailures - 1, 30), max);
    clearTimeout(this.saveRetryTimer);
    this.saveRetryDelays.push(delay);
    if (this.saveRetryDelays.length > 20) this.saveRetryDelays.shift();
    this.saveRetryTimer = setTimeout(() => {
      this.saveRetryTimer = undefined;
      if (this.stopping || !this.inCharge || this.storeHealthy) return;
      void this.saveState();
    }, delay);
    this.saveRetryTimer.unref();
    return delay;
  }

  /** Why the last write of the state file failed, until one succeeds. */
  lastSaveError: Error | undefined;

  /** Hook for the migration manager to persist its own state beside the locations. */
  extraState: () => unknown = () => [];
  /** The migration manager's row of one migration (undefined: gone), for saves of what changed. */
  extraRow: (id: string) => unknown = () => undefined;
  loadedExtraState: unknown = undefined;

  private async loadState(): Promise<void> {
    const store = this.store;
    if (!store) return;
    let state: StoredState | undefined;
    // The rows read into a table once: checked (a row that does not parse is corruption too,
    // caught before anything is taken in), then taken in from it.
    let loaded: LocationTable | undefined;
    try {
      state = await store.load();
      if (state) {
        try {
          loaded = LocationTable.fromJSON(state.locations);
        } catch (err) {
          if (store instanceof FileStateStore) throw new CorruptStateFile(store.file, (err as Error).message);
          throw err;
        }
      }
    } catch (err) {
      if (!(err instanceof CorruptStateFile) || !(store instanceof FileStateStore)) throw err;
      if (!this.options.stateReset) throw new Error(`${err.message}; start with --state-reset to move it aside and start from the topology`);
      const aside = await store.moveAside();
      this.log.warn({ file: store.file, movedTo: aside, err: err.reason }, 'state file truncated or corrupt: moved aside, starting from the topology (--state-reset)');
      return;
    }
    if (store instanceof FileStateStore) for (const note of store.loadNotes) this.log.warn({ file: store.file }, `state file: ${note}`);
    if (!state) return;
    const n = this.adoptTable(loaded!, store.description);
    this.loadedExtraState = state.migrations;
    this.log.info({ store: store.description, locations: n }, 'state loaded');
  }

  /**
   * Takes stored locations into the table (a member following the master does this on every
   * change it sees): entries on unknown nodes or that conflict are skipped with a warning, and
   * with `exact`, names absent from `rows` are removed. Returns how many rows were read.
   */
  adoptLocations(rows: StoredState['locations'], from: string, exact = false): number {
    return this.adoptTable(LocationTable.fromJSON(rows), from, exact);
  }

  /** adoptLocations of rows already read into a table; in the rows' order (a sort of 100k names cost a restart 0.1 s). */
  private adoptTable(loaded: LocationTable, from: string, exact = false): number {
    for (const l of loaded.values()) {
      if (!this.topology.nodes[l.node]) {
        this.log.warn({ container: l.name, node: l.node, from }, 'stored state places a container on a node not in the topology: ignored');
        continue;
      }
      const existing = this.locations.get(l.name);
      if (existing && existing.mac === l.mac && existing.node === l.node && existing.ofport === l.ofport && existing.ip === l.ip && existing.port === l.port) continue;
      if (existing && existing.mac !== l.mac) this.locations.delete(l.name);
      try {
        this.locations.set(l);
      } catch (err) {
        this.log.warn({ container: l.name, err: (err as Error).message, from }, 'stored entry conflicts: ignored');
      }
    }
    if (exact) for (const l of this.locations.all()) if (!loaded.get(l.name)) this.locations.delete(l.name);
    return loaded.size;
  }
}

const DEFAULT_MAX_HANDSHAKING = 256;
const LISTEN_BACKLOG = 4096;
/** A connect storm's sync waits for this long without a switch in its handshake or becoming ready (connectStormSettled)… */
const STORM_QUIET_MS = 150;
/** …and at most this long. */
const STORM_WAIT_MAX_MS = 2000;
/** OpenFlow-basic OXM field codes looked for in flows read raw. */
const OXM_IN_PORT = oxmFieldByName('in_port')!.code;
const OXM_ETH_DST = oxmFieldByName('eth_dst')!.code;
const OXM_ETH_SRC = oxmFieldByName('eth_src')!.code;
/** Syncs of a few switches computed by a pass over every location before the entries are indexed by bridge. */
const PASSES_BEFORE_INDEX = 4;
/** Work between two yields to the event loop during a full recomputation or a large send, in ms. */
const DEFAULT_SLICE_MS = 20;
const MAX_SLICE_BRIDGES = 4096;
const MAX_SLICE_ENDPOINTS = 1 << 20;

/** (bridge, MAC) entries as two lists (see BridgeMacs.addMany). */
function newEntryList(): { bridges: string[]; macs: string[] } {
  return { bridges: [], macs: [] };
}

/** One turn of the event loop: timers and I/O (other switches' messages) run before going on. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
/**
 * How many turns a yield takes at most while each turn accepts a connection: enough for a storm's
 * backlog between two slices, few enough that a storm cannot hold the computation up for long.
 */
const MAX_ACCEPT_TURNS = 256;

/**
 * The FlowCache of the state in force, filled slice by slice: the forwarding function ends each
 * call with `finish()` (forget what that call did not use), which between slices would forget
 * the other slices' flows; between `begin()` and `end()` that happens once, at the end.
 */
class SlicedFlowCache extends FlowCache {
  private slicing = false;

  begin(): void {
    this.slicing = true;
  }

  /** `forget` false: a computation of some switches only (connected, read back), whose flows do not include the others': keep theirs. */
  end(forget = true): void {
    this.slicing = false;
    if (forget) super.finish();
  }

  override finish(): void {
    if (!this.slicing) super.finish();
  }
}
const PROTOCOL_ERRORS_LOGGED = 5;

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function asArray(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

function portView(p: SwitchPort): { portNo: number; name: string; up: boolean } {
  return { portNo: p.portNo, name: p.name, up: (p.config & 1) === 0 && (p.state & 1) === 0 };
}

/** Per stage, what it sends: flows added and deleted, group and meter changes, switches (a debug log's summary). */
function stageCounts(stages: readonly TransitionStage[]): { adds: number; deletes: number; groups: number; meters: number; switches: number; firstAdd?: string }[] {
  return stages.map((st) => {
    const c = { adds: 0, deletes: 0, groups: 0, meters: 0, switches: st.changes.size } as { adds: number; deletes: number; groups: number; meters: number; switches: number; firstAdd?: string };
    for (const d of st.changes.values()) {
      c.adds += d.flowsToAdd.length;
      c.deletes += d.flowsToDelete.length;
      c.groups += d.groupsToAdd.length + d.groupsToModify.length + d.groupsToDelete.length;
      c.meters += d.metersToAdd.length + d.metersToModify.length + d.metersToDelete.length;
      const f = d.flowsToAdd[0];
      if (f && c.firstAdd === undefined) c.firstAdd = `table ${f.tableId} priority ${f.priority} cookie 0x${f.cookie.toString(16)} ${matchKey(f.match)}`;
    }
    return c;
  });
}

function endpointOf(l: Location): Endpoint {
  return { name: l.name, mac: l.mac, ...(l.ip ? { ip: l.ip } : {}), at: { bridge: l.node, ofport: l.ofport } };
}

/** Equal as far as flows are concerned. */
function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  if (!a || !b) return a === b;
  return a.mac === b.mac && a.ip === b.ip && a.at.bridge === b.at.bridge && a.at.ofport === b.at.ofport;
}

/** Same bridges (in the same order) with the same tunnels (port, peer, state): the same paths and flooding tree. */
/** The part of our cookies that names the rule's subject (a MAC, mostly): see cookies.ts. */
const SUBJECT_MASK = (1n << 40n) - 1n;
/** How many changes to the model a prepared move can at least be checked against (see modelChanges). */
const MODEL_CHANGES_KEPT = 1024;
/** Flows in one change past which its subjects are not noted (see diffSubjects). */
const MAX_DIFF_SUBJECTS = 256;

/** The subjects of the flows a diff adds or deletes; undefined if it touches anything else (groups, meters, flows not ours). */
function diffSubjects(diff: SwitchDiff): Set<bigint> | undefined {
  if (diff.groupsToAdd.length + diff.groupsToModify.length + diff.groupsToDelete.length + diff.metersToAdd.length + diff.metersToModify.length + diff.metersToDelete.length > 0) return undefined;
  // A switch's whole table (start-up, a reconcile) counts as "anything": a plan made before it is
  // stale anyway, and a thousand such sets would keep a bigint per flow of the overlay.
  if (diff.flowsToAdd.length + diff.flowsToDelete.length > MAX_DIFF_SUBJECTS) return undefined;
  const subjects = new Set<bigint>();
  for (const flows of [diff.flowsToAdd, diff.flowsToDelete]) {
    for (const f of flows) {
      if (!isOurCookie(f.cookie)) return undefined;
      subjects.add(f.cookie & SUBJECT_MASK);
    }
  }
  return subjects;
}

/** The endpoints of a slice's bridges, each once (an endpoint may have flows on several of them). */
function endpointsOfSlice(byBridge: ReadonlyMap<string, readonly Endpoint[]>, slice: readonly string[]): readonly Endpoint[] {
  if (slice.length === 1) return byBridge.get(slice[0]!) ?? [];
  const seen = new Set<Endpoint>();
  for (const b of slice) for (const ep of byBridge.get(b) ?? []) seen.add(ep);
  return [...seen];
}

/** Whether two fabrics have the same bridges with the same edge ports. */
function sameEdgePorts(a: Fabric, b: Fabric): boolean {
  if (a.bridges.size !== b.bridges.size) return false;
  for (const [name, x] of a.bridges) {
    const y = b.bridges.get(name);
    if (!y || x.edgePorts.length !== y.edgePorts.length || x.edgePorts.some((p, i) => p !== y.edgePorts[i])) return false;
  }
  return true;
}

function sameTunnels(a: Fabric, b: Fabric): boolean {
  if (a.bridges.size !== b.bridges.size) return false;
  const other = b.bridges.values();
  for (const x of a.bridges.values()) {
    const y = other.next().value!;
    if (x.name !== y.name || x.tunnels.length !== y.tunnels.length) return false;
    if (x.tunnels.some((t, i) => t.ofport !== y.tunnels[i]!.ofport || t.peer !== y.tunnels[i]!.peer || t.up !== y.tunnels[i]!.up)) return false;
  }
  return true;
}

function sameOptions(a: ForwardingOptions, b: ForwardingOptions): boolean {
  return (Object.keys(b) as (keyof ForwardingOptions)[]).every((k) => a[k] === b[k]);
}
