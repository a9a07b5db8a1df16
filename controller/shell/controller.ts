/**
 * The ViNO controller's I/O shell: accepts switch connections, maps them to topology nodes,
 * keeps the location table, and after every change computes the desired state of every
 * switch (a pure function) and sends each switch only the difference, in make-before-break
 * order, confirmed by barriers. Flows are never wiped: on (re)connect a switch's flows are read
 * back and reconciled. When only endpoints changed since the last full computation, only their
 * flows are recomputed: a learned MAC costs O(bridges), not O(bridges × endpoints).
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:net';
import type { Logger } from 'pino';
import { Port } from '../../src/openflow/constants.js';
import type { ControllerRole, Message, PacketIn, PortDesc } from '../../src/openflow/types/index.js';
import { ErrorType } from '../../src/openflow/constants.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { COOKIE_OWNER_MASK, COOKIE_OWNER_VALUE, RuleKind, ruleCookie } from '../core/cookies.js';
import type { Endpoint, Fabric } from '../core/fabric.js';
import {
  defaultForwardingOptions, desiredStateFor, endpointChangeFlows, FlowCache, forwardingContext,
  type EndpointChange, type ForwardingContext, type ForwardingOptions, type MigrationInProgress,
} from '../core/forwarding.js';
import type { FlowSpec, SwitchState } from '../core/flows.js';
import { LocationTable, type Location, type LocationChange } from '../core/locations.js';
import { buildArpReply, isUnicastMac, parseEthernet } from '../core/packet.js';
import { fabricFromTopology } from '../core/topology-fabric.js';
import { levelsTowards, stageDiffs } from '../core/transition.js';
import {
  applyDiff, diffFlowChange, diffInstalled, diffToMessages, flowAdds, indexInstalled, type InstalledState, type SwitchDiff,
} from '../core/diff.js';
import { SessionError, SwitchSession, dpidText, type SessionOptions } from './session.js';
import { FileStateStore, type StateStore, type StoredState } from '../ha/store.js';
import type { Metrics } from './metrics.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ControllerOptions {
  ofListen: ListenAddress[];
  stateFile?: string;
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
  | { type: 'flows-failed'; switch: string; stage: string; error: string }
  | { type: string; [key: string]: unknown };

const OWN = { groupIds: new Set([1]), meterIds: new Set([1]) };
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
  /** Per node: ofport → number of locations there. */
  readonly portUse = new Map<string, Map<number, number>>();
  /** A port gained its first or lost its last location since the controller cleared this. */
  portSetChanged = false;

  override set(entry: Parameters<LocationTable['set']>[0]): LocationChange | undefined {
    const change = super.set(entry);
    if (change) this.note(change);
    return change;
  }

  override delete(name: string): LocationChange | undefined {
    const change = super.delete(name);
    if (change) this.note(change);
    return change;
  }

  private note(change: LocationChange): void {
    const from = change.kind === 'moved' ? change.from : change.kind === 'removed' ? change.location : undefined;
    const to = change.kind === 'removed' ? undefined : change.location;
    if (!this.changedSince.has(change.location.name)) this.changedSince.set(change.location.name, from);
    if (from && to && from.node === to.node && from.ofport === to.ofport) return;
    if (from) this.usePort(from.node, from.ofport, -1);
    if (to) this.usePort(to.node, to.ofport, 1);
  }

  private usePort(node: string, ofport: number, delta: 1 | -1): void {
    let ports = this.portUse.get(node);
    if (!ports) this.portUse.set(node, (ports = new Map()));
    const n = (ports.get(ofport) ?? 0) + delta;
    if (n === 0) ports.delete(ofport);
    else ports.set(ofport, n);
    if (n === 0 || (n === 1 && delta === 1)) this.portSetChanged = true;
  }
}

/** What the last full computation of the desired state was based on besides the endpoints. */
interface Basis {
  /** The controller's `inputsVersion` at the time. */
  version: number;
  ctx: ForwardingContext;
}

export class Controller extends EventEmitter {
  readonly locations: LocationTable;
  /** Sessions of topology nodes, by node name. */
  readonly sessions = new Map<string, SwitchSession>();
  /** Sessions of switches not in the topology, by dpid text. */
  readonly unknownSessions = new Map<string, SwitchSession>();
  /** How many syncs recomputed every switch's state, and how many only changed endpoints' flows. */
  readonly syncCounts = { full: 0, endpoints: 0 };
  /** What we believe each connected switch holds (read back on connect, updated on apply). */
  private readonly installed = new Map<string, InstalledState>();
  private readonly tracked = new TrackedLocations();
  private readonly servers: Server[] = [];
  private readonly readySessions = new Set<SwitchSession>();
  private readonly flowCache = new FlowCache();
  private readonly log: Logger;
  private syncChain: Promise<void> = Promise.resolve();
  private stopping = false;
  private activeMigrations: readonly MigrationInProgress[] = [];
  /**
   * Bumped by every change the desired state depends on besides the endpoints: switches ready
   * or gone, their ports, migrations, read-back state. While it stands still, syncs recompute
   * only the endpoints that changed.
   */
  private inputsVersion = 0;
  private basis?: Basis;
  private readonly store?: StateStore;
  /** The OpenFlow role claimed (undefined: alone, no roles). */
  private claimedRole?: { role: 'MASTER' | 'SLAVE'; generationId: bigint };
  /** Whether the last save reached the store. */
  storeHealthy = true;

  constructor(readonly topology: ResolvedTopology, readonly options: ControllerOptions) {
    super();
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
      const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err: NodeJS.ErrnoException) => {
          reject(new Error(err.code === 'EADDRINUSE' ? `OpenFlow port ${addr.host}:${addr.port} is already in use` : `cannot listen on ${addr.host}:${addr.port}: ${err.message}`));
        });
        server.listen(addr.port, addr.host, () => resolve());
      });
      const a = server.address() as { address: string; port: number };
      bound.push({ host: a.address, port: a.port });
      this.servers.push(server);
    }
    this.log.info({ listen: bound.map((b) => `${b.host}:${b.port}`) }, 'listening for switches');
    return bound;
  }

  /** Closes sessions and listeners. Flows stay on the switches: traffic keeps flowing. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of this.servers) s.close();
    for (const s of [...this.sessions.values(), ...this.unknownSessions.values()]) s.close('controller shutting down');
    await this.syncChain.catch(() => {});
    await this.saveState();
  }

  /** Migrations between prepare and commit (the migration manager publishes them here). */
  get migrations(): readonly MigrationInProgress[] {
    return this.activeMigrations;
  }

  set migrations(list: readonly MigrationInProgress[]) {
    this.activeMigrations = list;
    this.inputsVersion++;
  }

  // ------------------------------------------------------------------------------ switches

  private accept(socket: import('node:net').Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const session = new SwitchSession(socket, this.options.session);
    this.options.metrics?.sessionOpened();
    session.on('ready', () => this.onReady(session));
    session.on('protocol-error', (err: Error) => {
      this.options.metrics?.error('protocol');
      this.log.warn({ switch: session.name, err: err.message }, 'malformed message from switch');
    });
    session.on('internal-error', (err: Error) => {
      this.options.metrics?.error('internal');
      this.log.error({ switch: session.name, err: err.stack }, 'internal error handling a switch message');
    });
    session.once('close', (reason: string) => this.onClose(session, reason));
  }

  private nodeOf(session: SwitchSession): string | undefined {
    const dpid = dpidText(session.datapathId!);
    const byDpid = this.topology.dpids[dpid];
    if (byDpid) return byDpid;
    // Fall back to the bridge name: OFPP_LOCAL carries it.
    const local = session.ports.get(Port.LOCAL)?.name;
    return Object.values(this.topology.nodes).find((n) => n.bridge.name === local)?.name;
  }

  private onReady(session: SwitchSession): void {
    const dpid = dpidText(session.datapathId!);
    const node = this.nodeOf(session);
    const log = this.log.child({ switch: node ?? null, dpid });
    this.options.metrics?.sessionReady();
    this.readySessions.add(session);
    session.on('message', (msg: Message) => this.onMessage(session, node, msg));
    if (!node) {
      this.unknownSessions.get(dpid)?.close('replaced by a new connection with the same datapath id');
      this.unknownSessions.set(dpid, session);
      log.warn({ remote: session.remote }, 'switch not in the topology: serving it with the learning fallback');
      this.emit('event', { type: 'switch-up', switch: null, dpid, remote: session.remote });
      void this.installFallback(session, log);
      return;
    }
    const previous = this.sessions.get(node);
    if (previous && previous !== session) previous.close('replaced by a new connection with the same datapath id');
    this.sessions.set(node, session);
    this.inputsVersion++;
    session.on('port', (reason: string, desc: PortDesc) => {
      this.inputsVersion++;
      this.emit('event', { type: 'port-change', switch: node, reason: String(reason), port: portView(desc) });
      this.requestSync(`port ${desc.name} ${String(reason).toLowerCase()} on ${node}`);
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
    if (this.readySessions.delete(session)) this.options.metrics?.sessionGone();
    const dpid = session.datapathId === undefined ? null : dpidText(session.datapathId);
    for (const [node, s] of this.sessions) {
      if (s !== session) continue;
      this.sessions.delete(node);
      this.installed.delete(node);
      this.inputsVersion++;
      this.log.warn({ switch: node, dpid, reason }, 'switch disconnected');
      this.emit('event', { type: 'switch-down', switch: node, dpid, reason });
      return;
    }
    if (dpid && this.unknownSessions.get(dpid) === session) {
      this.unknownSessions.delete(dpid);
      this.emit('event', { type: 'switch-down', switch: null, dpid, reason });
    } else if (dpid === null) {
      this.log.info({ remote: session.remote, reason }, 'connection closed before the handshake completed');
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
    if (msg.type === 'ERROR') {
      this.log.warn({ switch: node ?? null, dpid: session.datapathId === undefined ? null : dpidText(session.datapathId), errorType: msg.errorType }, 'unsolicited error from switch');
    }
  }

  private onPacketIn(session: SwitchSession, node: string, pin: PacketIn): void {
    // A slave gets no packet-ins from a switch that honours roles; any that arrive are not ours to act on.
    if (!this.inCharge) return;
    const inPortField = pin.match.fields.find((f) => f.field === 'in_port');
    const inPort = inPortField && inPortField.field !== 'opaque' ? Number(inPortField.value) : undefined;
    const eth = parseEthernet(pin.data);
    if (inPort === undefined || !eth) return;
    const nodeInfo = this.topology.nodes[node]!;
    const isTunnel = nodeInfo.bridge.ports.some((p) => p.kind === 'tunnel' && p.ofport === inPort);
    if (eth.arp?.op === 1) {
      const owner = this.locations.byIp(eth.arp.tpa);
      if (owner && owner.mac !== eth.src) {
        session.send({
          type: 'PACKET_OUT', xid: 0, bufferId: 0xffffffff, inPort: Port.CONTROLLER,
          actions: [{ type: 'OUTPUT', port: inPort, maxLen: 0 }], data: buildArpReply(eth.arp, owner.mac, owner.ip!),
        });
        this.options.metrics?.proxyArp();
      }
    }
    // Learn only at edge ports: a frame from a tunnel says nothing about where its sender is.
    if (isTunnel || !isUnicastMac(eth.src) || eth.vlan !== undefined) return;
    this.learn(node, inPort, eth.src, eth.arp?.spa ?? undefined, session.ports.get(inPort)?.name);
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
    const change = this.locations.set({
      name, mac, node, ofport, source: known ? known.source : 'learned',
      ...(useIp ? { ip: useIp } : {}), ...(portName ? { port: portName } : {}),
    });
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

  private announce(change: LocationChange, why: string, sync = true): void {
    const l = change.location;
    const from = change.kind === 'moved' ? { node: change.from.node, ofport: change.from.ofport } : change.kind === 'removed' ? { node: l.node, ofport: l.ofport } : null;
    const to = change.kind === 'removed' ? null : { node: l.node, ofport: l.ofport };
    this.log.info({ container: l.name, mac: l.mac, from, to, why }, `container ${change.kind}`);
    this.emit('event', { type: 'container-moved', container: l.name, mac: l.mac, from, to, source: why });
    this.options.metrics?.locationChange(change.kind);
    void this.saveState();
    // Only a move needs ordering (downstream first); a new or removed MAC has no traffic to misroute.
    if (sync) void this.requestSync(`${l.name} ${change.kind}: ${why}`, change.kind === 'moved' ? { towards: l.node } : {});
  }

  // ------------------------------------------------------------------------------ sync

  /**
   * Queues a recomputation; resolves when every connected switch has (or has failed to get)
   * the new state. Serialised: two changes never interleave their flow_mods.
   */
  requestSync(reason: string, opts: { reconcile?: string; towards?: string; reconcileAll?: boolean } = {}): Promise<void> {
    if (opts.reconcileAll) {
      const all = [...this.sessions.keys()];
      const last = all.pop();
      for (const node of all) void this.requestSync(reason, { reconcile: node });
      return last ? this.requestSync(reason, { reconcile: last }) : this.requestSync(reason);
    }
    // Requests that arrive while one is waiting to run join it (same ordering target only):
    // a burst of packet-ins costs one recomputation, not one each.
    const q = this.queuedSync;
    if (q && (q.towards === opts.towards || opts.towards === undefined || q.towards === undefined)) {
      if (q.reasons.length < 3) q.reasons.push(reason);
      else q.moreReasons++;
      if (opts.reconcile) q.reconcile.add(opts.reconcile);
      q.towards ??= opts.towards;
      return q.run;
    }
    const entry = { reasons: [reason], moreReasons: 0, reconcile: new Set(opts.reconcile ? [opts.reconcile] : []), towards: opts.towards, run: Promise.resolve() };
    entry.run = this.syncChain.then(() => {
      if (this.queuedSync === entry) this.queuedSync = undefined;
      const reasons = entry.reasons.join('; ') + (entry.moreReasons > 0 ? ` and ${entry.moreReasons} more` : '');
      return this.sync(reasons, { reconcile: [...entry.reconcile], ...(entry.towards ? { towards: entry.towards } : {}) });
    });
    this.queuedSync = entry;
    this.syncChain = entry.run.catch(() => {});
    return entry.run;
  }

  private queuedSync?: { reasons: string[]; moreReasons: number; reconcile: Set<string>; towards: string | undefined; run: Promise<void> };

  private async sync(reason: string, opts: { reconcile: string[]; towards?: string }): Promise<void> {
    if (this.stopping) return;
    if (!this.inCharge) {
      // A slave sends nothing; it reads back again when it becomes master.
      for (const node of opts.reconcile) this.installed.delete(node);
      return;
    }
    await Promise.all(opts.reconcile.map((node) => this.readBack(node)));
    const diffs = this.planDiffs();
    const stages = stageDiffs(diffs, this.levels(opts.towards));
    if (stages.length === 0) return;
    this.log.debug({ reason, stages: stages.map((s) => s.label) }, 'applying forwarding change');
    for (const stage of stages) {
      if (this.stopping) return;
      await Promise.all([...stage.changes].map(async ([node, diff]) => {
        const session = this.sessions.get(node);
        if (!session || session.state !== 'ready') return;
        const installed = this.installed.get(node);
        const msgs = diffToMessages(diff);
        try {
          const result = await session.applyBatch(msgs);
          this.options.metrics?.batchApplied(msgs.length, result.elapsedMs);
          // Unless it was forgotten or re-read meanwhile, the model now holds what was confirmed.
          if (installed && this.installed.get(node) === installed) applyDiff(installed, diff);
          this.emit('event', { type: 'flows-applied', switch: node, stage: stage.label, flowMods: msgs.length, elapsedMs: Math.round(result.elapsedMs * 1000) / 1000 });
        } catch (err) {
          this.options.metrics?.error('batch');
          // What the switch holds is uncertain now: read it back before the next change.
          this.installed.delete(node);
          this.log.error({ switch: node, stage: stage.label, reason, err: (err as Error).message }, 'switch refused a forwarding change');
          this.emit('event', { type: 'flows-failed', switch: node, stage: stage.label, error: (err as Error).message });
          void this.requestSync(`re-read ${node} after a failed change`, { reconcile: node });
        }
      }));
    }
  }

  /**
   * Per switch to update (ready, installed state known), the change to its desired state:
   * from the changed endpoints' flows alone when nothing else changed since the last full
   * computation, else from everything.
   */
  private planDiffs(): Map<string, SwitchDiff> {
    const targets: string[] = [];
    for (const [node, s] of this.sessions) if (s.state === 'ready' && this.installed.has(node)) targets.push(node);
    const options: ForwardingOptions = { ...defaultForwardingOptions, ...this.options.forwarding };
    const basis = this.basis;
    if (basis && basis.version === this.inputsVersion && sameOptions(basis.ctx.options, options) && !this.edgePortsChanged(basis.ctx.fabric)) {
      this.syncCounts.endpoints++;
      return this.endpointDiffs(basis, targets);
    }
    this.syncCounts.full++;
    const fabric = this.fabric();
    const ctx = forwardingContext({ fabric, migrations: this.migrations, options });
    const endpoints = this.locations.endpoints().filter((e) => fabric.bridges.has(e.at.bridge));
    this.tracked.changedSince.clear();
    this.tracked.portSetChanged = false;
    this.basis = { version: this.inputsVersion, ctx };
    const desired = desiredStateFor(ctx, endpoints, this.flowCache);
    const diffs = new Map<string, SwitchDiff>();
    for (const node of targets) diffs.set(node, diffInstalled(desired.get(node) ?? EMPTY, this.installed.get(node)!, OWN));
    return diffs;
  }

  /** The endpoint-only path: the installed state is the desired one but for the endpoints that changed since. */
  private endpointDiffs(basis: Basis, targets: string[]): Map<string, SwitchDiff> {
    const { fabric } = basis.ctx;
    const endpoint = (l: Location | undefined) => (l && fabric.bridges.has(l.node) ? endpointOf(l) : undefined);
    const changes: EndpointChange[] = [];
    for (const [name, was] of this.tracked.changedSince) {
      const before = endpoint(was);
      const after = endpoint(this.locations.get(name));
      if (!sameEndpoint(before, after)) changes.push({ before, after });
    }
    this.tracked.changedSince.clear();
    const diffs = new Map<string, SwitchDiff>();
    if (changes.length === 0) return diffs;
    endpointChangeFlows(basis.ctx, targets, changes).forEach(({ before, after }, i) => {
      diffs.set(targets[i]!, diffFlowChange(before, after, this.installed.get(targets[i]!)!));
    });
    return diffs;
  }

  /** Whether a port gained its first or lost its last location so that some bridge's edge ports differ from `fabric`'s. */
  private edgePortsChanged(fabric: Fabric): boolean {
    if (!this.tracked.portSetChanged) return false;
    this.tracked.portSetChanged = false;
    for (const [name, bridge] of this.fabric().bridges) {
      const was = fabric.bridges.get(name)?.edgePorts ?? [];
      if (bridge.edgePorts.length !== was.length || bridge.edgePorts.some((p, i) => p !== was[i])) return true;
    }
    return false;
  }

  /** The fabric as the switches report it, with the edge ports that hold locations. */
  private fabric(): Fabric {
    const reported = new Map<string, ReadonlyMap<number, PortDesc>>();
    for (const [node, s] of this.sessions) if (s.state === 'ready') reported.set(node, s.ports);
    const located = new Map<string, Iterable<number>>();
    for (const [node, ports] of this.tracked.portUse) located.set(node, ports.keys());
    return fabricFromTopology(this.topology, reported, located);
  }

  /** Levels for ordering a change towards `target` (nearest first), over the current paths. */
  private levels(target: string | undefined): string[][] {
    const paths = this.basis?.ctx.paths;
    if (!target || !paths) return [];
    return levelsTowards(Object.keys(this.topology.nodes), (n) => paths.distance(n, target));
  }

  /** Reads a switch's flows (ours only, by cookie), groups and meters: the reconcile baseline. */
  private async readBack(node: string): Promise<void> {
    const session = this.sessions.get(node);
    if (!session || session.state !== 'ready') return;
    try {
      const [flowParts, groupParts, meterParts] = await Promise.all([
        session.multipart({ kind: 'FLOW', tableId: 0xff, outPort: Port.ANY, outGroup: 0xffffffff, cookie: COOKIE_OWNER_VALUE, cookieMask: COOKIE_OWNER_MASK, match: { fields: [] } }),
        session.multipart({ kind: 'GROUP_DESC' }),
        session.multipart({ kind: 'METER_CONFIG', meterId: 0xffffffff }),
      ]);
      const state: SwitchState = { flows: [], groups: [], meters: [] };
      for (const p of flowParts) if (p.kind === 'FLOW') for (const f of p.flows) state.flows.push({ tableId: f.tableId, priority: f.priority, match: f.match, instructions: f.instructions, cookie: f.cookie });
      for (const p of groupParts) if (p.kind === 'GROUP_DESC') for (const g of p.groups) state.groups.push({ groupId: g.groupId, groupType: g.groupType as 'ALL', buckets: g.buckets });
      for (const p of meterParts) if (p.kind === 'METER_CONFIG') for (const m of p.meters) state.meters.push({ meterId: m.meterId, flags: m.flags, bands: m.bands });
      this.installed.set(node, indexInstalled(state));
      // What was read back need not be what the basis assumes: only a full diff brings it in line.
      this.inputsVersion++;
      this.log.info({ switch: node, flows: state.flows.length, groups: state.groups.length, meters: state.meters.length }, 'read back installed state');
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
        flowCount: this.installed.get(node.name)?.flows.size ?? 0, fallback: false,
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
   * Saves locations and migrations to the store. Writes are serialised and coalesced: while one
   * is in progress at most one more waits, and it takes its snapshot when it starts, so a burst
   * of changes costs two writes and every caller's change is stored when its promise resolves.
   * A failed save is logged and retried with the next change (the memory copy stays authoritative).
   */
  saveState(): Promise<void> {
    const store = this.store;
    if (!store || !this.inCharge) return Promise.resolve();
    if (this.saveQueued) return this.saveQueued;
    const run = this.saving.then(async () => {
      this.saveQueued = undefined;
      await store.save({ locations: this.locations.toJSON(), migrations: asArray(this.extraState()) });
      if (!this.storeHealthy) this.log.info({ store: store.description }, 'state saved again after a failure');
      this.storeHealthy = true;
    }).catch((err: Error) => {
      this.storeHealthy = false;
      this.log.error({ err: err.message, store: store.description }, 'could not save the state');
    });
    this.saveQueued = run;
    this.saving = run;
    return run;
  }

  /** Hook for the migration manager to persist its own state beside the locations. */
  extraState: () => unknown = () => [];
  loadedExtraState: unknown = undefined;

  private async loadState(): Promise<void> {
    const store = this.store;
    if (!store) return;
    const state = await store.load();
    if (!state) return;
    const n = this.adoptLocations(state.locations, store.description);
    this.loadedExtraState = state.migrations;
    this.log.info({ store: store.description, locations: n }, 'state loaded');
  }

  /**
   * Takes stored locations into the table (a member following the master does this on every
   * change it sees): entries on unknown nodes or that conflict are skipped with a warning, and
   * with `exact`, names absent from `rows` are removed. Returns how many rows were read.
   */
  adoptLocations(rows: StoredState['locations'], from: string, exact = false): number {
    const loaded = LocationTable.fromJSON(rows);
    for (const l of loaded.all()) {
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

function asArray(x: unknown): unknown[] {
  return Array.isArray(x) ? x : [];
}

function portView(p: PortDesc): { portNo: number; name: string; up: boolean } {
  return { portNo: p.portNo, name: p.name, up: (p.config & 1) === 0 && (p.state & 1) === 0 };
}

function endpointOf(l: Location): Endpoint {
  return { name: l.name, mac: l.mac, ...(l.ip ? { ip: l.ip } : {}), at: { bridge: l.node, ofport: l.ofport } };
}

/** Equal as far as flows are concerned. */
function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  if (!a || !b) return a === b;
  return a.mac === b.mac && a.ip === b.ip && a.at.bridge === b.at.bridge && a.at.ofport === b.at.ofport;
}

function sameOptions(a: ForwardingOptions, b: ForwardingOptions): boolean {
  return (Object.keys(b) as (keyof ForwardingOptions)[]).every((k) => a[k] === b[k]);
}
