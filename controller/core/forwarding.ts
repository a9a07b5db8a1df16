/**
 * Forwarding as a pure function, in the manner of Faucet's valve: (fabric, endpoint locations,
 * demand set, departed set, migrations in progress) → the desired state of every switch. No I/O
 * here; the session layer diffs this against what a switch has and sends the difference.
 *
 * Destination-edge forwarding (README "How it forwards"): every bridge has a label (a VLAN id).
 *   table 0  ingress: tunnel ports → table 2; a known MAC at its known edge port → table 1; ARP
 *            requests from edge ports → the controller (proxy ARP, metered); anything else →
 *            the controller (metered: learning, host-move detection) and table 1.
 *   table 1  edge (untagged frames from edge ports): a MAC on this bridge → its port; an ingress
 *            entry (on demand, idle timeout) → push the label of the MAC's edge, table 2;
 *            broadcast/multicast → flood group; unknown unicast → flood group AND table 3 (the
 *            controller learns the demand; no frame waits for it). Tagged frames are dropped.
 *   table 2  labels: another bridge's label → the next hop towards it (one flow per destination
 *            edge; those whose next hop is the one towards the label root share one default
 *            flow); own label + a local MAC → pop, its port; own label + a MAC that left → its
 *            new edge's label (stale ingress entries still deliver); untagged (flooded) frames
 *            → flood group along the spanning tree.
 *   table 3  the metered copy to the controller.
 * Transit tables hold one flow per destination edge at most, none per container; an edge holds
 * O(local containers + destinations its containers send to).
 *
 * A migration (old edge E, new edge N): ingress entries and E's local flow send a copy labelled
 * with E's label and one with N's (bicast at the ingress, so no copy is ever copied again); N
 * delivers frames with its label to the new port (or holds them at the controller while
 * frozen). Commit: N delivers, the ingress entries push N's label, and last E relabels frames
 * still labelled for it (copies for E still in flight are dropped there: see transition.ts).
 *
 * A bridge's state is its base (tables, labels, group, meter) plus the flows of every endpoint,
 * each of which depends only on the context and that endpoint (its demand and departed
 * entries): a change of some endpoints is recomputed alone (endpointChangeFlows).
 */
import { Port } from '../../src/openflow/constants.js';
import type { Action, Bucket, Instruction, Match, OxmField } from '../../src/openflow/types/index.js';
import { Paths, spanningTreePorts, type Attachment, type Endpoint, type Fabric, type FabricBridge } from './fabric.js';
import { RuleKind, ruleCookie } from './cookies.js';
import { lowerMac, macOf, noteFlowMacs, type FlowSpec, type GroupSpec, type MeterSpec, type SwitchState } from './flows.js';

export const INGRESS_TABLE = 0;
/** Table 1: untagged frames from edge ports (ingress entries, local delivery). */
export const FORWARDING_TABLE = 1;
export const EDGE_TABLE = FORWARDING_TABLE;
export const LABEL_TABLE = 2;
export const CONTROLLER_TABLE = 3;
export const FLOOD_GROUP = 1;
export const CONTROLLER_METER = 1;
/** VLAN ids 1..4094 are labels: at most this many bridges in one overlay. */
export const MAX_LABELS = 4094;
const OFPVID_PRESENT = 0x1000;
const OFPVID_NONE = 0x0000;
const ETH_TYPE_ARP = 0x0806;
const ETH_TYPE_VLAN = 0x8100;
const ARP_REQUEST = 1;
const NO_BUFFER_MAX_LEN = 0xffff;

export const Priority = {
  TUNNEL_INGRESS: 400,
  PROXY_ARP: 300,
  EDGE_TAGGED: 300,
  MIGRATION_HOLD: 210,
  KNOWN_SOURCE: 200,
  MIGRATION_COPY: 100,
  UNICAST: 100,
  LABEL: 100,
  FLOOD: 50,
  LABEL_LOCAL_MISS: 20,
  LABEL_DEFAULT: 10,
  MISS: 0,
} as const;

export interface ForwardingOptions {
  /** Packet-ins per second allowed through the controller meter, per switch. */
  controllerRatePps: number;
  controllerBurst: number;
  /** Seconds an ingress entry stays without traffic before the switch removes it (FLOW_REMOVED). */
  ingressIdleTimeoutS: number;
  /** Seconds a relabel entry at a container's old edge stays without stale frames. */
  relabelIdleTimeoutS: number;
}

export const defaultForwardingOptions: ForwardingOptions = {
  controllerRatePps: 1000,
  controllerBurst: 200,
  ingressIdleTimeoutS: 300,
  relabelIdleTimeoutS: 60,
};

/** A migration between prepare and commit: the container is (or was) at `from`, moving to `to`. */
export interface MigrationInProgress {
  name: string;
  mac: string;
  from: Attachment;
  /** `ofport` is undefined until the new port exists on the target bridge. */
  to: { bridge: string; ofport?: number };
  /**
   * The container is frozen (the old host takes no more frames): at the new edge its frames go
   * to the controller whole, to be held and replayed in order once the new port exists, instead
   * of being dropped there. Cleared by the controller once the replay is done.
   */
  hold?: boolean;
  /**
   * The old edge during an explicit freeze, before the old host is cut off: 'report' still
   * delivers the container's frames to its old port and sends each to the controller too (the
   * frames the old host took: their twins held at the new edge are not replayed); 'drop' delivers
   * them no more (the old host takes nothing from then on; their twins are held at the new edge).
   */
  seal?: 'report' | 'drop';
}

/** Which bridges hold an entry for a MAC (the demand set, the departed set). */
export interface BridgesByMac {
  bridgesOf(mac: string): Iterable<string> | undefined;
}

/**
 * A relation bridge ↔ MAC, indexed both ways: the demand set (bridge B's edge ports sent to
 * MAC M: B holds an ingress entry for M) and the departed set (M left B: B relabels stale
 * frames for M). MACs are lower-case.
 */
export class BridgeMacs implements BridgesByMac {
  // A MAC's bridges in insertion order: an array while few (a Set costs about twice as much,
  // and a container's talkers sit on a handful of hosts), a Set past SMALL_SET.
  private readonly byMac = new Map<string, string[] | Set<string>>();
  private count = 0;
  // The MACs of each bridge, kept only while asked for (indexBridges): a connect storm computes
  // switches a few at a time and needs each one's MACs; at 100k containers the index costs tens
  // of MiB, so it is not kept in between.
  private byBridge?: Map<string, Set<string>>;

  get size(): number {
    return this.count;
  }

  /** Builds (true) or drops (false) the index by bridge behind macsAt. */
  indexBridges(on: boolean): void {
    if (!on) {
      this.byBridge = undefined;
      return;
    }
    if (this.byBridge) return;
    this.byBridge = new Map();
    for (const [mac, bridges] of this.byMac) for (const b of bridges) this.indexAdd(b, mac);
  }

  /** Whether the index by bridge is kept (indexBridges). */
  get indexed(): boolean {
    return this.byBridge !== undefined;
  }

  /** The MACs with an entry on `bridge`; only while indexed (indexBridges), else undefined. */
  macsAt(bridge: string): ReadonlySet<string> | undefined {
    return this.byBridge ? this.byBridge.get(bridge) ?? EMPTY_MACS : undefined;
  }

  private indexAdd(bridge: string, mac: string): void {
    let macs = this.byBridge!.get(bridge);
    if (!macs) this.byBridge!.set(bridge, (macs = new Set()));
    macs.add(mac);
  }

  private indexDelete(bridge: string, mac: string): void {
    const macs = this.byBridge?.get(bridge);
    if (macs?.delete(mac) && macs.size === 0) this.byBridge!.delete(bridge);
  }

  add(bridge: string, mac: string): boolean {
    const key = lowerMac(mac);
    const bridges = this.byMac.get(key);
    if (!bridges) {
      this.byMac.set(key, [bridge]);
    } else if (Array.isArray(bridges)) {
      if (bridges.includes(bridge)) return false;
      this.byMac.set(key, bridges.length < SMALL_SET ? withOneMore(bridges, bridge) : new Set([...bridges, bridge]));
    } else {
      if (bridges.has(bridge)) return false;
      bridges.add(bridge);
    }
    this.count++;
    if (this.byBridge) this.indexAdd(bridge, key);
    return true;
  }

  /**
   * add() for many entries at once (switches read back): each MAC's new bridges gathered first,
   * then its list made once at its exact length, instead of a copy one longer per entry. Entry i
   * is (bridges[i], macs[i]): two arrays rather than a pair each (800k pairs at a restart, kept
   * through its read-back, were as many objects for the garbage collector to copy and promote).
   * `keyOf` gives the string to keep for a MAC not held before (equal to it, lower case): a
   * read-back's MACs are strings of their own, where the caller has each container's (a restart
   * kept a copy of every MAC in demand otherwise).
   */
  addMany(bridges: readonly string[], macs: readonly string[], keyOf?: (mac: string) => string): void {
    if (bridges.length !== macs.length) throw new RangeError(`addMany: ${bridges.length} bridges but ${macs.length} MACs`);
    const gathered = new Map<string, string[]>();
    for (let i = 0; i < bridges.length; i++) {
      const bridge = bridges[i]!;
      const key = lowerMac(macs[i]!);
      const list = gathered.get(key);
      if (list === undefined) gathered.set(key, [bridge]);
      else if (!list.includes(bridge)) list.push(bridge);
    }
    for (const [gatheredMac, added] of gathered) {
      const had = this.byMac.get(gatheredMac);
      const mac = had === undefined && keyOf !== undefined ? keyOf(gatheredMac) : gatheredMac;
      const fresh = had === undefined ? added : added.filter((b) => !(Array.isArray(had) ? had.includes(b) : had.has(b)));
      if (fresh.length === 0) continue;
      const size = (had === undefined ? 0 : sizeOf(had)) + fresh.length;
      if (had !== undefined && !Array.isArray(had)) for (const b of fresh) had.add(b);
      else if (size > SMALL_SET) this.byMac.set(mac, new Set(had === undefined ? fresh : [...had, ...fresh]));
      // slice(): exactly as long (a list grown by push keeps spare room).
      else this.byMac.set(mac, had === undefined ? fresh.slice() : had.concat(fresh));
      this.count += fresh.length;
      if (this.byBridge) for (const b of fresh) this.indexAdd(b, mac);
    }
  }

  delete(bridge: string, mac: string): boolean {
    const key = lowerMac(mac);
    const bridges = this.byMac.get(key);
    if (!bridges) return false;
    if (Array.isArray(bridges)) {
      const i = bridges.indexOf(bridge);
      if (i < 0) return false;
      if (bridges.length === 1) this.byMac.delete(key);
      else this.byMac.set(key, bridges.slice(0, i).concat(bridges.slice(i + 1)));
    } else {
      if (!bridges.delete(bridge)) return false;
      if (bridges.size === 0) this.byMac.delete(key);
    }
    this.count--;
    if (this.byBridge) this.indexDelete(bridge, key);
    return true;
  }

  has(bridge: string, mac: string): boolean {
    const bridges = this.byMac.get(lowerMac(mac));
    return bridges === undefined ? false : Array.isArray(bridges) ? bridges.includes(bridge) : bridges.has(bridge);
  }

  bridgesOf(mac: string): Iterable<string> | undefined {
    return this.byMac.get(lowerMac(mac));
  }

  /** How many bridges hold an entry for `mac`. */
  countOf(mac: string): number {
    const bridges = this.byMac.get(lowerMac(mac));
    return bridges === undefined ? 0 : sizeOf(bridges);
  }

  /** Forgets a MAC everywhere; returns the bridges that had it. */
  deleteMac(mac: string): string[] {
    const key = lowerMac(mac);
    const bridges = this.byMac.get(key);
    if (!bridges) return [];
    this.byMac.delete(key);
    this.count -= sizeOf(bridges);
    if (this.byBridge) for (const b of bridges) this.indexDelete(b, key);
    return [...bridges];
  }

  /** Forgets every entry on bridges `keep` rejects (a bridge removed by a reload). */
  retainBridges(keep: (bridge: string) => boolean): void {
    for (const [mac, bridges] of this.byMac) {
      const kept = [...bridges].filter(keep);
      if (kept.length === sizeOf(bridges)) continue;
      if (this.byBridge) for (const b of bridges) if (!keep(b)) this.indexDelete(b, mac);
      this.count -= sizeOf(bridges) - kept.length;
      if (kept.length === 0) this.byMac.delete(mac);
      else this.byMac.set(mac, kept.length <= SMALL_SET ? kept : new Set(kept));
    }
  }

  *entries(): IterableIterator<[bridge: string, mac: string]> {
    for (const [mac, bridges] of this.byMac) for (const b of bridges) yield [b, mac];
  }

  /** Every MAC with an entry, once each. */
  macs(): IterableIterator<string> {
    return this.byMac.keys();
  }
}

const SMALL_SET = 16;
const EMPTY_MACS: ReadonlySet<string> = new Set();

/** A copy of `list` plus `item`, of exactly that length (push would leave room for a dozen more). */
function withOneMore(list: readonly string[], item: string): string[] {
  const out = new Array<string>(list.length + 1);
  for (let i = 0; i < list.length; i++) out[i] = list[i]!;
  out[list.length] = item;
  return out;
}

function sizeOf(bridges: string[] | Set<string>): number {
  return Array.isArray(bridges) ? bridges.length : bridges.size;
}

/** `base` plus one more (bridge, MAC): a move computed ahead sees its own entry without copying the set. */
export function withEntry(base: BridgesByMac, bridge: string, mac: string): BridgesByMac {
  const key = mac.toLowerCase();
  return {
    bridgesOf(m: string) {
      const found = base.bridgesOf(m);
      if (m.toLowerCase() !== key) return found;
      return new Set([...(found ?? []), bridge]);
    },
  };
}

const NONE: BridgesByMac = { bridgesOf: () => undefined };

export interface ForwardingInput {
  fabric: Fabric;
  /** Every known endpoint at its current location (for a migrating one: its old location). */
  endpoints: readonly Endpoint[];
  migrations?: readonly MigrationInProgress[];
  /** Ingress entries wanted: the MACs each bridge's edge ports sent to (absent: none). */
  demand?: BridgesByMac;
  /** MACs that left a bridge: it relabels frames still labelled for it there (absent: none). */
  departed?: BridgesByMac;
  options?: Partial<ForwardingOptions>;
  /** Reuses the flow objects of the previous computation where nothing changed (see FlowCache). */
  cache?: FlowCache;
}

/**
 * Keeps the FlowSpec objects of the last full computation, keyed by what determines them, so
 * that a recomputation after one change returns the very same objects for every unchanged flow:
 * the diff then recognises them by identity instead of comparing their text. A flow is keyed by
 * its rule (kind, subject, table, priority), its signature and idle timeout, not by its bridge:
 * equal keys are equal flows, so the bridges that hold the same flow (the ingress entries of a
 * MAC, a label's flow through the same port) share one object. Entries not produced by the
 * latest computation are dropped. An endpoint's flows that sit on one bridge only are not cached
 * (see ONE_BRIDGE).
 */
export class FlowCache {
  // By subject (a MAC, a label, a tunnel's peer): its few flows as flat runs of
  // (flow, signature, computation); the flow's cookie tells the rule kind. No key string per
  // flow: at 100k containers the strings alone outweighed the flows.
  private readonly bySubject = new Map<string, unknown[]>();
  private computation = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** @internal */
  take(r: Rule, sig: string | number, idleTimeout: number | undefined, make: () => FlowSpec): FlowSpec {
    let runs = this.bySubject.get(r.subject);
    if (runs) {
      for (let i = 0; i < runs.length; i += CACHE_STRIDE) {
        const f = runs[i] as FlowSpec;
        if (runs[i + 1] === sig && f.cookie === r.cookie && f.tableId === r.tableId && f.priority === r.priority && f.idleTimeout === idleTimeout) {
          runs[i + 2] = this.computation;
          return f;
        }
      }
    }
    const flow = make();
    // A new run of exactly its length each time, not a push: a subject's few flows are taken
    // in a row, so the runs replaced die young (the scavenger frees them), where a run grown by
    // push kept room for a dozen more until finish() copied it, in the old generation by then
    // (memory V8 keeps after collecting it).
    this.bySubject.set(r.subject, runs ? appended(runs, flow, sig, this.computation) : [flow, sig, this.computation]);
    this.count++;
    return flow;
  }

  /** @internal Ends a computation: what it did not use is forgotten. */
  finish(): void {
    for (const [subject, runs] of this.bySubject) {
      let kept = 0;
      for (let i = 0; i < runs.length; i += CACHE_STRIDE) {
        if (runs[i + 2] !== this.computation) continue;
        for (let j = 0; j < CACHE_STRIDE; j++) runs[kept + j] = runs[i + j];
        kept += CACHE_STRIDE;
      }
      if (kept === runs.length) continue;
      this.count -= (runs.length - kept) / CACHE_STRIDE;
      // A copy of exactly the kept length (V8 keeps the room of an array shortened in place).
      if (kept === 0) this.bySubject.delete(subject);
      else this.bySubject.set(subject, runs.slice(0, kept));
    }
    this.computation++;
  }
}

const CACHE_STRIDE = 3;

/** `runs` plus one (flow, signature, computation), as an array of exactly that length. */
function appended(runs: readonly unknown[], flow: FlowSpec, sig: string | number, computation: number): unknown[] {
  const out = new Array<unknown>(runs.length + CACHE_STRIDE);
  for (let i = 0; i < runs.length; i++) out[i] = runs[i];
  out[runs.length] = flow;
  out[runs.length + 1] = sig;
  out[runs.length + 2] = computation;
  return out;
}

/** What the flows depend on besides the endpoints: built once per fabric and migration state. */
export interface ForwardingContext {
  fabric: Fabric;
  /** Bridge names, in the fabric's order. */
  bridges: readonly string[];
  paths: Paths;
  /** Per bridge, its tunnel ports on the flooding tree. */
  tree: ReadonlyMap<string, number[]>;
  options: ForwardingOptions;
  /** Migrations in progress by lower-case MAC. */
  migrations: ReadonlyMap<string, MigrationInProgress>;
  /** Every bridge's label (VLAN id), and the bridge of each label. */
  labels: ReadonlyMap<string, number>;
  bridgeOfLabel: ReadonlyMap<number, string>;
  /** The bridge every default label flow leads towards (a centre of the graph), if any. */
  labelRoot: string | undefined;
  demand: BridgesByMac;
  departed: BridgesByMac;
}

export function forwardingContext(input: Omit<ForwardingInput, 'endpoints' | 'cache'>): ForwardingContext {
  const paths = new Paths(input.fabric);
  const labels = assignLabels(input.fabric);
  return {
    fabric: input.fabric,
    bridges: [...input.fabric.bridges.keys()],
    paths,
    tree: spanningTreePorts(input.fabric),
    options: { ...defaultForwardingOptions, ...input.options },
    migrations: migrationsByMac(input.migrations ?? []),
    labels,
    bridgeOfLabel: new Map([...labels].map(([b, l]) => [l, b])),
    labelRoot: labelRoot(input.fabric, paths),
    demand: input.demand ?? NONE,
    departed: input.departed ?? NONE,
  };
}

/** Migrations in progress by lower-case MAC, as a forwarding context holds them. */
export function migrationsByMac(list: readonly MigrationInProgress[]): Map<string, MigrationInProgress> {
  return new Map(list.map((m) => [m.mac.toLowerCase(), m]));
}

/**
 * The MACs whose migration entry differs between two contexts' maps (added, removed, a field
 * changed). A MAC's entry is read by its own endpoint's flows only (putEndpointFlows): a change
 * of the migrations is a change of these endpoints, nothing else.
 */
export function changedMigrations(a: ReadonlyMap<string, MigrationInProgress>, b: ReadonlyMap<string, MigrationInProgress>): Set<string> {
  const out = new Set<string>();
  if (a === b) return out;
  for (const [mac, m] of a) if (!sameMigration(m, b.get(mac))) out.add(mac);
  for (const mac of b.keys()) if (!a.has(mac)) out.add(mac);
  return out;
}

function sameMigration(a: MigrationInProgress, b: MigrationInProgress | undefined): boolean {
  return b !== undefined && a.name === b.name && a.mac.toLowerCase() === b.mac.toLowerCase()
    && a.from.bridge === b.from.bridge && a.from.ofport === b.from.ofport && a.to.bridge === b.to.bridge && a.to.ofport === b.to.ofport
    && (a.hold === true) === (b.hold === true) && a.seal === b.seal;
}

/**
 * A label per bridge: 1 + a hash of its name modulo 4094, the next free one on a collision
 * (names taken in sorted order). A bridge keeps its label when others come and go unless it had
 * collided: a reload rewrites few labels. More bridges than labels is refused.
 */
export function assignLabels(fabric: Fabric): Map<string, number> {
  const names = [...fabric.bridges.keys()].sort();
  if (names.length > MAX_LABELS) {
    throw new Error(`the overlay has ${names.length} bridges; destination labels are VLAN ids, at most ${MAX_LABELS} bridges`);
  }
  const taken = new Set<number>();
  const out = new Map<string, number>();
  for (const name of names) {
    let slot = labelHash(name) % MAX_LABELS;
    while (taken.has(slot)) slot = (slot + 1) % MAX_LABELS;
    taken.add(slot);
    out.set(name, slot + 1);
  }
  return out;
}

function labelHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The label root: the bridge that reaches the most others with the smallest eccentricity (ties:
 * name). A bridge's label flows whose next hop is its next hop towards the root are one default
 * flow; following defaults always gets nearer the root, so even a label nobody owns cannot loop
 * (the root has no default and drops it).
 */
function labelRoot(fabric: Fabric, paths: Paths): string | undefined {
  let best: { name: string; reach: number; ecc: number } | undefined;
  for (const name of [...fabric.bridges.keys()].sort()) {
    const { reach, farthest: ecc } = paths.reachOf(name);
    if (!best || reach > best.reach || (reach === best.reach && ecc < best.ecc)) best = { name, reach, ecc };
  }
  return best?.name;
}

export function computeDesiredState(input: ForwardingInput): Map<string, SwitchState> {
  return desiredStateFor(forwardingContext(input), input.endpoints, input.cache);
}

/** The desired state of every bridge: its base flows, groups and meters plus every endpoint's flows. */
export function desiredStateFor(ctx: ForwardingContext, endpoints: readonly Endpoint[], cache = new FlowCache()): Map<string, SwitchState> {
  const builder = new DesiredStateBuilder(ctx, cache);
  builder.addBridges();
  builder.addEndpoints(endpoints);
  return builder.build();
}

/**
 * The desired state of `ctx.bridges` (all of the fabric's or some), built in steps so that a
 * caller can yield between chunks of endpoints: each endpoint's flows are computed once and only
 * for those bridges (a connect storm or a restart computes a thousand switches; computing each
 * slice of them from every endpoint redid an endpoint's flows once per slice it touched).
 */
export class DesiredStateBuilder {
  // Listed table by table: a dump of the desired state reads in pipeline order. Beside each
  // table, the MAC of each of its flows (see noteFlowMacs).
  private readonly tables = new Map<string, FlowSpec[][]>();
  private readonly macs = new Map<string, (string | undefined)[][]>();
  /** The bridges computed when they are not all of the fabric's. */
  private readonly slice: ReadonlySet<string> | undefined;
  /** The MAC of the endpoint whose flows are being put (every flow of an endpoint is of its MAC). */
  private endpointMac = '';
  private readonly put = (bridge: string, f: FlowSpec) => {
    const t = this.tables.get(bridge);
    if (!t) return;
    t[f.tableId]!.push(f);
    this.macs.get(bridge)![f.tableId]!.push(this.endpointMac);
  };

  constructor(private readonly ctx: ForwardingContext, private readonly cache: FlowCache = new FlowCache()) {
    for (const name of ctx.bridges) {
      this.tables.set(name, [[], [], [], []]);
      this.macs.set(name, [[], [], [], []]);
    }
    this.slice = ctx.bridges.length < ctx.fabric.bridges.size ? new Set(ctx.bridges) : undefined;
  }

  /** The flows no endpoint determines of `ctx.bridges[from, to)`: all of them before any endpoint's (a table lists them first). */
  addBridges(from = 0, to = this.ctx.bridges.length): void {
    for (let i = from; i < to; i++) {
      const name = this.ctx.bridges[i]!;
      const t = this.tables.get(name)!;
      const m = this.macs.get(name)!;
      for (const f of bridgeFlows(this.ctx, this.ctx.fabric.bridges.get(name)!, this.cache)) {
        t[f.tableId]!.push(f);
        // A few per bridge, some of one MAC (broadcast): found in their match.
        m[f.tableId]!.push(macOf(f));
      }
    }
  }

  /** The flows of `endpoints[from, to)` on the bridges built (an endpoint with none there costs one check). */
  addEndpoints(endpoints: readonly Endpoint[], from = 0, to = endpoints.length): void {
    const { ctx, cache, slice, put } = this;
    for (let i = from; i < to; i++) {
      const ep = endpoints[i]!;
      const mac = lowerMac(ep.mac);
      if (slice && !endpointTouches(ctx, mac, ep.at.bridge, slice)) continue;
      this.endpointMac = mac;
      putEndpointFlows(ctx, ep, cache, put, slice);
    }
  }

  /** The state of each bridge built; ends the cache's computation. */
  build(): Map<string, SwitchState> {
    const out = new Map<string, SwitchState>();
    const meters = bridgeMeters(this.ctx);
    for (const [name, t] of this.tables) {
      const m = this.macs.get(name)!;
      const flows = ([] as FlowSpec[]).concat(t[0]!, t[1]!, t[2]!, t[3]!);
      noteFlowMacs(flows, ([] as (string | undefined)[]).concat(m[0]!, m[1]!, m[2]!, m[3]!));
      out.set(name, { flows, groups: bridgeGroups(this.ctx, this.ctx.fabric.bridges.get(name)!), meters });
    }
    this.cache.finish();
    return out;
  }
}

/** Flows of a bridge that no endpoint determines: tunnel ingress, misses, flooding, labels. */
export function bridgeFlows(ctx: ForwardingContext, bridge: FabricBridge, cache?: FlowCache): FlowSpec[] {
  const on = (r: Rule, instructions: Instruction[], sig: string | number = '') => flowOn(r, instructions, sig, cache);
  const edge = bridge.edgePorts.length > 0;
  const own = ctx.labels.get(bridge.name)!;
  const flows: FlowSpec[] = [];
  for (const tunnel of bridge.tunnels) flows.push(on(rule(RuleKind.TUNNEL_INGRESS, `tunnel:${tunnel.peer}`, INGRESS_TABLE, Priority.TUNNEL_INGRESS, [{ field: 'in_port', value: tunnel.ofport }]), GOTO_LABELS, tunnel.ofport));
  // ARP requests enter at edge ports: a bridge without any (a transit switch) needs no proxy ARP.
  if (edge) flows.push(on(PROXY_ARP_RULE, PROXY_ARP_INSTRUCTIONS));
  flows.push(
    on(INGRESS_MISS_RULE, INGRESS_MISS_INSTRUCTIONS),
    on(EDGE_TAGGED_RULE, []),
    on(EDGE_FLOOD_RULE, FLOOD),
    on(UNKNOWN_DESTINATION_RULE, UNKNOWN_DESTINATION_INSTRUCTIONS),
  );
  // Labels: one flow per destination edge whose next hop is not the default one.
  const defaultPort = defaultLabelPort(ctx, bridge.name);
  for (const dest of ctx.fabric.bridges.values()) {
    const f = labelFlowTowards(ctx, bridge.name, defaultPort, dest, cache);
    if (f) flows.push(f);
  }
  if (defaultPort !== undefined) flows.push(on(LABEL_DEFAULT_RULE, outputTo(defaultPort), defaultPort));
  // Own label with a MAC not (or no longer) here: dropped, not sent on by the default.
  if (edge && defaultPort !== undefined) flows.push(on(rule(RuleKind.LABEL_LOCAL_MISS, `own:${own}`, LABEL_TABLE, Priority.LABEL_LOCAL_MISS, [vlanIs(own)]), []));
  flows.push(on(LABEL_UNTAGGED_RULE, FLOOD), on(TO_CONTROLLER_RULE, TO_CONTROLLER_INSTRUCTIONS));
  return flows;
}

/** The port of `bridge`'s default label flow (towards the label root), if any. */
function defaultLabelPort(ctx: ForwardingContext, bridge: string): number | undefined {
  return ctx.labelRoot === undefined ? undefined : ctx.paths.nextHop(bridge, ctx.labelRoot);
}

/** `from`'s flow for the label of `dest` (none: not an edge, itself, unreachable, or the default's way). */
function labelFlowTowards(ctx: ForwardingContext, from: string, defaultPort: number | undefined, dest: FabricBridge, cache: FlowCache | undefined): FlowSpec | undefined {
  if (dest.name === from || dest.edgePorts.length === 0) return undefined;
  const port = ctx.paths.nextHop(from, dest.name);
  if (port === undefined || port === defaultPort) return undefined;
  return flowOn(labelRule(ctx.labels.get(dest.name)!), outputTo(port), port, cache);
}

/**
 * The flood group. A GROUP_MOD is at most 64 KiB (about 2,000 buckets): a bridge with more
 * ports than FLOOD_BUCKETS floods through a chain of groups, each one's last bucket the next
 * group. Listed last group first, so that every group is added before one refers to it.
 */
export function bridgeGroups(ctx: ForwardingContext, bridge: FabricBridge): GroupSpec[] {
  const floodPorts = [...new Set([...bridge.edgePorts, ...(ctx.tree.get(bridge.name) ?? [])])].sort((a, b) => a - b);
  const groups: GroupSpec[] = [];
  const chunks = Math.max(1, Math.ceil(floodPorts.length / FLOOD_BUCKETS));
  if (chunks > MAX_FLOOD_GROUPS) throw new Error(`bridge ${bridge.name} has ${floodPorts.length} ports to flood: more than ${MAX_FLOOD_GROUPS * FLOOD_BUCKETS}`);
  for (let i = chunks - 1; i >= 0; i--) {
    const buckets = floodPorts.slice(i * FLOOD_BUCKETS, (i + 1) * FLOOD_BUCKETS).map((port) => portObjects.get(port).bucket);
    if (i < chunks - 1) buckets.push(bucket([{ type: 'GROUP', groupId: FLOOD_GROUP + i + 1 }]));
    groups.push({ groupId: FLOOD_GROUP + i, groupType: 'ALL', buckets });
  }
  return groups;
}

/** Ports per flood group (a bucket with one output is 32 bytes: 1,000 of them fit a GROUP_MOD). */
export const FLOOD_BUCKETS = 1000;
export const MAX_FLOOD_GROUPS = 256;
/** The group ids the controller owns (and may delete). */
export const OWN_GROUP_IDS: ReadonlySet<number> = new Set(Array.from({ length: MAX_FLOOD_GROUPS }, (_, i) => FLOOD_GROUP + i));

export function bridgeMeters(ctx: ForwardingContext): MeterSpec[] {
  return [{
    meterId: CONTROLLER_METER,
    flags: 0x2 | 0x4 | 0x8, // PKTPS | BURST | STATS
    bands: [{ type: 'DROP', rate: ctx.options.controllerRatePps, burstSize: ctx.options.controllerBurst }],
  }];
}

/**
 * The flows one endpoint needs, by bridge: at its edge its known source, local delivery and
 * labelled delivery; an ingress entry on every bridge that demands it; a relabel entry on every
 * bridge it departed from; during its migration the bicast and the new edge's copy delivery
 * (and hold). Only the bridges listed get anything: O(its entries), not O(bridges).
 */
export function endpointFlows(ctx: ForwardingContext, ep: Endpoint, cache?: FlowCache): Map<string, FlowSpec[]> {
  const out = new Map<string, FlowSpec[]>();
  putEndpointFlows(ctx, ep, cache, (bridge, f) => {
    const list = out.get(bridge);
    if (list) list.push(f);
    else out.set(bridge, [f]);
  });
  return out;
}

/**
 * Whether putEndpointFlows puts any flow of the endpoint of `mac` (lower case) at bridge `at` on
 * one of `bridges`: its edge, its migration's new edge, its ingress and relabel entries.
 */
export function endpointTouches(ctx: ForwardingContext, mac: string, at: string, bridges: ReadonlySet<string>): boolean {
  if (bridges.has(at)) return true;
  const to = ctx.migrations.get(mac)?.to.bridge;
  if (to !== undefined && bridges.has(to)) return true;
  for (const b of ctx.demand.bridgesOf(mac) ?? []) if (bridges.has(b)) return true;
  for (const b of ctx.departed.bridgesOf(mac) ?? []) if (bridges.has(b)) return true;
  return false;
}

/**
 * The cache for the flows that sit on one bridge only (an endpoint's edge flows, its relabel
 * entries): none. The cache's point is one object shared by the bridges that hold the same flow
 * (ingress entries) and by consecutive computations; these share nothing across bridges, their
 * instructions are their port's shared ones (a recomputation's copy compares equal at once), and
 * keeping them cost a run and a map entry per container (~160 B at 100k containers).
 */
const ONE_BRIDGE = undefined;

/**
 * endpointFlows handing each flow to `put` (a full computation places them at once, without a
 * map per endpoint); with `on`, only its flows on those bridges are made.
 */
function putEndpointFlows(ctx: ForwardingContext, ep: Endpoint, cache: FlowCache | undefined, put: (bridge: string, f: FlowSpec) => void, on?: ReadonlySet<string>): void {
  const mac = lowerMac(ep.mac);
  const at = ep.at.bridge;
  const homeLabel = ctx.labels.get(at);
  if (homeLabel === undefined) return;
  const migration = ctx.migrations.get(mac);
  const to = migration?.to;
  const toLabel = to && ctx.labels.get(to.bridge);
  const hold = migration?.hold === true;
  const dstMatch: OxmField = { field: 'eth_dst', value: mac };
  // Local delivery and ingress entries have the same table, priority and match (on different
  // bridges): one match object, so one canonical key for both.
  const toMac: Match = { fields: [dstMatch] };
  const local = ruleMatching(RuleKind.UNICAST, mac, EDGE_TABLE, Priority.UNICAST, toMac);
  const deliverHome = rule(RuleKind.DELIVER, mac, LABEL_TABLE, Priority.UNICAST, [vlanIs(homeLabel), dstMatch]);

  // Its edge.
  const atEdge = !on || on.has(at);
  if (atEdge) put(at, flowOn(rule(RuleKind.KNOWN_SOURCE, mac, INGRESS_TABLE, Priority.KNOWN_SOURCE,
    [inPort(ep.at.ofport), { field: 'eth_src', value: mac }]), GOTO_EDGE, ep.at.ofport, ONE_BRIDGE));
  if (!atEdge) {
    // Its edge's flows are not asked for; a new edge elsewhere may be (below).
  } else if (!migration || toLabel === undefined) {
    put(at, flowOn(local, outputTo(ep.at.ofport), ep.at.ofport, ONE_BRIDGE));
    put(at, flowOn(deliverHome, popOutput(ep.at.ofport), labelPortSig(homeLabel, ep.at.ofport), ONE_BRIDGE));
  } else if (to!.bridge === at) {
    // Moving to another port of the same bridge: both ports get every frame; held frames go to
    // the controller instead of the new port (two hold flows: local and labelled senders).
    const newPort = to!.ofport;
    const both = newPort === undefined ? [output(ep.at.ofport)] : [output(ep.at.ofport), output(newPort)];
    put(at, flowOn(local, [applyActions(both)], `same/${ep.at.ofport}/${newPort}`, ONE_BRIDGE));
    if (newPort !== undefined && newPort !== ep.at.ofport) put(at, arrivalFlow(mac, newPort));
    put(at, flowOn(deliverHome, [applyActions([POP, ...both])], `same/${homeLabel}/${ep.at.ofport}/${newPort}`, ONE_BRIDGE));
    if (hold) {
      put(at, flowOn(rule(RuleKind.MIGRATION_HOLD, mac, EDGE_TABLE, Priority.MIGRATION_HOLD, [dstMatch]), [applyActions([toController(), output(ep.at.ofport)])], ep.at.ofport, ONE_BRIDGE));
      put(at, flowOn(rule(RuleKind.MIGRATION_HOLD, mac, LABEL_TABLE, Priority.MIGRATION_HOLD, [vlanIs(homeLabel), dstMatch]), [applyActions([POP, toController(), output(ep.at.ofport)])], `${homeLabel}/${ep.at.ofport}`, ONE_BRIDGE));
    }
  } else {
    // Old edge: local senders' frames to the old port and, labelled for the new edge, towards it.
    const hop = ctx.paths.nextHop(at, to!.bridge);
    const actions: Action[] = [output(ep.at.ofport)];
    if (hop !== undefined) actions.push(PUSH, setVid(toLabel), output(hop));
    put(at, flowOn(local, [applyActions(actions)], `old/${ep.at.ofport}/${toLabel}/${hop}`, ONE_BRIDGE));
    put(at, flowOn(deliverHome, popOutput(ep.at.ofport), labelPortSig(homeLabel, ep.at.ofport), ONE_BRIDGE));
    if (migration?.seal) {
      // Above those two, with the hold flows' cookie kind: the controller tells a report from a
      // held frame by the bridge it comes from. The copy towards the new edge stays.
      const report = migration.seal === 'report';
      const onward = actions.slice(1);
      const sealLocal = rule(RuleKind.MIGRATION_HOLD, mac, EDGE_TABLE, Priority.MIGRATION_HOLD, [dstMatch]);
      const sealLabelled = rule(RuleKind.MIGRATION_HOLD, mac, LABEL_TABLE, Priority.MIGRATION_HOLD, [vlanIs(homeLabel), dstMatch]);
      // The report before the delivery: the controller gets the frame as it came, not as the
      // port's send path may have padded it.
      put(at, flowOn(sealLocal, [applyActions(report ? [toController(), output(ep.at.ofport), ...onward] : onward)], `seal/${migration.seal}/${ep.at.ofport}/${toLabel}/${hop}`, ONE_BRIDGE));
      put(at, flowOn(sealLabelled, report ? [applyActions([POP, toController(), output(ep.at.ofport)])] : [], `seal/${migration.seal}/${homeLabel}/${ep.at.ofport}`, ONE_BRIDGE));
    }
  }
  if (migration && toLabel !== undefined && to!.bridge !== at && (!on || on.has(to!.bridge))) {
    // New edge: its local senders copy to the old edge, then go through its own label's rules.
    const n = to!.bridge;
    const back = ctx.paths.nextHop(n, at);
    const newLocal: Action[] = back === undefined ? [PUSH, setVid(toLabel)] : [PUSH, setVid(homeLabel), OLD_COPY, output(back), setVid(toLabel), NEW_COPY];
    put(n, flowOn(local, [applyActions(newLocal), gotoLabels()], `new/${homeLabel}/${toLabel}/${back}`, ONE_BRIDGE));
    if (to!.ofport !== undefined) put(n, arrivalFlow(mac, to!.ofport));
    const copyMatch = [vlanIs(toLabel), dstMatch];
    if (to!.ofport !== undefined) put(n, flowOn(rule(RuleKind.MIGRATION_COPY, mac, LABEL_TABLE, Priority.MIGRATION_COPY, copyMatch), popOutput(to!.ofport), `${toLabel}/${to!.ofport}`, ONE_BRIDGE));
    if (hold) put(n, flowOn(rule(RuleKind.MIGRATION_HOLD, mac, LABEL_TABLE, Priority.MIGRATION_HOLD, copyMatch), HOLD_INSTRUCTIONS, toLabel, ONE_BRIDGE));
  }

  // Ingress entries where its MAC is in demand (its own edges have their local flow instead).
  const ingress = ruleMatching(RuleKind.INGRESS_ENTRY, mac, EDGE_TABLE, Priority.UNICAST, toMac);
  let plainEntry: FlowSpec | undefined;
  for (const b of ctx.demand.bridgesOf(mac) ?? []) {
    if (b === at || b === to?.bridge || !ctx.labels.has(b) || (on && !on.has(b))) continue;
    if (toLabel === undefined || to!.bridge === at) {
      // The same flow on every bridge that demands the MAC: one object for all.
      plainEntry ??= ingressFlow(ingress, pushLabel(homeLabel), homeLabel, ctx, cache);
      put(b, plainEntry);
      continue;
    }
    // Bicast at the ingress: one copy labelled for each edge, each delivered once there.
    const actions: Action[] = [PUSH];
    const toOld = ctx.paths.nextHop(b, at);
    const toNew = ctx.paths.nextHop(b, to!.bridge);
    if (toOld !== undefined) actions.push(setVid(homeLabel), OLD_COPY, output(toOld));
    if (toNew !== undefined) actions.push(setVid(toLabel), ...(toOld !== undefined ? [NEW_COPY] : []), output(toNew));
    put(b, ingressFlow(ingress, actions.length > 1 ? [applyActions(actions)] : [], `bicast/${homeLabel}/${toOld}/${toLabel}/${toNew}`, ctx, cache));
  }

  // Relabel entries where it was before: frames still labelled for there go on to its edge.
  for (const b of ctx.departed.bridgesOf(mac) ?? []) {
    const label = ctx.labels.get(b);
    if (b === at || b === to?.bridge || label === undefined || (on && !on.has(b))) continue;
    const hop = ctx.paths.nextHop(b, at);
    if (hop === undefined) continue;
    const r = rule(RuleKind.RELABEL, mac, LABEL_TABLE, Priority.UNICAST, [vlanIs(label), dstMatch]);
    put(b, flowOn(r, [applyActions([setVid(homeLabel), output(hop)])], `${label}/${homeLabel}/${hop}`, ONE_BRIDGE, ctx.options.relabelIdleTimeoutS));
    // A frame that came in through that very port must leave by IN_PORT (a switch never outputs
    // to the ingress port otherwise). It goes with the entry above (no timeout of its own).
    const back = rule(RuleKind.RELABEL, mac, LABEL_TABLE, Priority.UNICAST + 1, [{ field: 'in_port', value: hop }, vlanIs(label), dstMatch]);
    put(b, flowOn(back, [applyActions([setVid(homeLabel), output(Port.IN_PORT)])], `${label}/${hop}/${homeLabel}`, ONE_BRIDGE));
    // A bicast copy for the old edge still in flight when the migration committed: its twin for
    // the new edge was delivered there, so relabelling it would deliver the frame twice.
    const staleCopy = rule(RuleKind.RELABEL, mac, LABEL_TABLE, Priority.UNICAST + 2, [vlanIs(label), { field: 'vlan_pcp', value: OLD_COPY_PCP }, dstMatch]);
    put(b, flowOn(staleCopy, [], label, ONE_BRIDGE));
  }
}

/**
 * The cache signature "label/port" of a delivery, as a small integer where the port allows (a
 * string per container was 28 B at 100k containers; the integer is stored in place). Used for
 * one rule only, so its integers never meet another's.
 */
function labelPortSig(label: number, port: number): string | number {
  return port < 0x10000 ? label * 0x10000 + port : `${label}/${port}`;
}

function ingressFlow(r: Rule, instructions: Instruction[], sig: string | number, ctx: ForwardingContext, cache: FlowCache | undefined): FlowSpec {
  return flowOn(r, instructions, sig, cache, ctx.options.ingressIdleTimeoutS);
}

/** An endpoint as the flows were last computed for it and as it is now (absent: not there). */
export interface EndpointChange {
  before?: Endpoint;
  after?: Endpoint;
}

/**
 * What a change of some endpoints does to each bridge it concerns: the flows they produced
 * before (under `ctx`) and those they produce now (under `next`, by default the same context).
 */
export function endpointChangeFlows(ctx: ForwardingContext, changes: readonly EndpointChange[], next: ForwardingContext = ctx): Map<string, BridgeChange> {
  const out = new Map<string, BridgeChange>();
  for (const c of changes) {
    if (c.before) for (const [b, flows] of endpointFlows(ctx, c.before)) for (const f of flows) changeSlot(out, b).before.push(f);
    if (c.after) for (const [b, flows] of endpointFlows(next, c.after)) for (const f of flows) changeSlot(out, b).after.push(f);
  }
  return out;
}

/** A bridge's part of a confined change: flows it held and flows it holds now; with `groups`, its groups as they are now (its flood group changed). */
export interface BridgeChange {
  before: FlowSpec[];
  after: FlowSpec[];
  groups?: GroupSpec[];
}

function changeSlot(out: Map<string, BridgeChange>, bridge: string): BridgeChange {
  let s = out.get(bridge);
  if (!s) out.set(bridge, (s = { before: [], after: [] }));
  return s;
}

/**
 * The endpoints `changes` plus every endpoint whose migration entry differs between `ctx` and
 * `next`, unchanged otherwise (its flows depend on that entry): the changes to compute when the
 * migrations in progress changed too. `endpointOfMac` gives a MAC's endpoint (undefined: none).
 */
export function withMigrationChanges(ctx: ForwardingContext, next: ForwardingContext, changes: readonly EndpointChange[], endpointOfMac: (mac: string) => Endpoint | undefined): EndpointChange[] {
  const macs = changedMigrations(ctx.migrations, next.migrations);
  if (macs.size === 0) return [...changes];
  const covered = new Set<string>();
  for (const c of changes) for (const ep of [c.before, c.after]) if (ep) covered.add(ep.mac.toLowerCase());
  const out = [...changes];
  for (const mac of macs) {
    if (covered.has(mac)) continue;
    const ep = endpointOfMac(mac);
    if (ep) out.push({ before: ep, after: ep });
  }
  return out;
}

/**
 * What changes on each bridge between `ctx` and `next`, two contexts of the same bridges and
 * tunnels (the same paths, tree and labels) that may differ in edge ports, migrations and entry
 * views: the flows of the endpoints `changes` (each before under `ctx`, after under `next`;
 * endpoints whose migration entry changed must be among them: withMigrationChanges), and the own
 * state of the bridges whose edge ports changed (their flood group; a bridge that gained its
 * first or lost its last edge port also changes its own flows and every bridge's label flow
 * towards it). Nothing else depends on these inputs.
 */
export function contextChangeFlows(ctx: ForwardingContext, next: ForwardingContext, changes: readonly EndpointChange[]): Map<string, BridgeChange> {
  const out = endpointChangeFlows(ctx, changes, next);
  const edgeChanged: string[] = [];
  // Bridges that became or stopped being an edge: bridgeFlows sees edge ports only as "has some".
  const edgeOrNot: string[] = [];
  for (const name of next.bridges) {
    const was = ctx.fabric.bridges.get(name)?.edgePorts ?? [];
    const now = next.fabric.bridges.get(name)!.edgePorts;
    // A bridge kept as it was (refreshBridges) is the same object: no port to compare.
    if (was === now || (was.length === now.length && was.every((p, i) => p === now[i]))) continue;
    edgeChanged.push(name);
    if ((was.length === 0) !== (now.length === 0)) edgeOrNot.push(name);
  }
  for (const name of edgeChanged) changeSlot(out, name).groups = bridgeGroups(next, next.fabric.bridges.get(name)!);
  if (edgeOrNot.length === 0) return out;
  // Their own flows whole; on every other bridge, its flow for their labels.
  const whole = new Set(edgeOrNot);
  for (const name of next.bridges) {
    const was = ctx.fabric.bridges.get(name);
    const now = next.fabric.bridges.get(name)!;
    const slot = changeSlot(out, name);
    if (whole.has(name)) {
      if (was) for (const f of bridgeFlows(ctx, was)) slot.before.push(f);
      for (const f of bridgeFlows(next, now)) slot.after.push(f);
      continue;
    }
    const defaultBefore = defaultLabelPort(ctx, name);
    const defaultAfter = defaultLabelPort(next, name);
    for (const dest of edgeOrNot) {
      const before = ctx.fabric.bridges.get(dest);
      const f = before && labelFlowTowards(ctx, name, defaultBefore, before, undefined);
      if (f) slot.before.push(f);
      const g = labelFlowTowards(next, name, defaultAfter, next.fabric.bridges.get(dest)!, undefined);
      if (g) slot.after.push(g);
    }
  }
  // Bridges none of whose flows changed hold an empty slot: dropped.
  for (const [name, slot] of out) if (slot.before.length === 0 && slot.after.length === 0 && !slot.groups) out.delete(name);
  return out;
}

/** The flows of `ep` on `bridge` alone (a new demand or departed entry there). */
export function endpointFlowsOn(ctx: ForwardingContext, ep: Endpoint, bridge: string): FlowSpec[] {
  return endpointFlows(ctx, ep).get(bridge) ?? [];
}

/**
 * A migrating container's frames at its new port. Left to the ingress miss they would pass its
 * meter, which drops whole frames, not just the controller's copy: after a resume the container
 * and the echoes of its replayed backlog exceed it at once. Unmetered instead; the copies last
 * from the first frame (which commits the migration) until the flip replaces this flow.
 */
function arrivalFlow(mac: string, ofport: number): FlowSpec {
  const r = rule(RuleKind.MIGRATION_ARRIVAL, mac, INGRESS_TABLE, Priority.KNOWN_SOURCE, [{ field: 'in_port', value: ofport }, { field: 'eth_src', value: mac }]);
  return flowOn(r, ARRIVAL_INSTRUCTIONS, ofport, ONE_BRIDGE);
}

/** A rule: what its flows on every bridge share. */
interface Rule {
  kind: number;
  subject: string;
  tableId: number;
  priority: number;
  match: Match;
  cookie: bigint;
}

function rule(kind: number, subject: string, tableId: number, priority: number, fields: OxmField[]): Rule {
  return ruleMatching(kind, subject, tableId, priority, { fields });
}

function ruleMatching(kind: number, subject: string, tableId: number, priority: number, match: Match): Rule {
  return { kind, subject, tableId, priority, match, cookie: ruleCookie(kind, subject) };
}

const labelRules = new Map<number, Rule>();
function labelRule(label: number): Rule {
  let r = labelRules.get(label);
  if (!r) labelRules.set(label, (r = rule(RuleKind.LABEL, `label:${label}`, LABEL_TABLE, Priority.LABEL, [vlanIs(label)])));
  return r;
}

/** Label `label`'s own flow with `instructions`: a path change pins a label to its old next hop with it (see stageFabricChange). */
export function labelFlow(label: number, instructions: Instruction[]): FlowSpec {
  const r = labelRule(label);
  return { tableId: r.tableId, priority: r.priority, match: r.match, instructions, cookie: r.cookie };
}

/**
 * A rule's flow. `sig` carries whatever, besides the rule, its match and instructions depend on
 * (ports, labels): equal cache key = equal flow, on whichever bridge (the cache shares it).
 */
function flowOn(r: Rule, instructions: Instruction[], sig: string | number, cache: FlowCache | undefined, idleTimeout?: number): FlowSpec {
  const make = (): FlowSpec => idleTimeout === undefined
    ? { tableId: r.tableId, priority: r.priority, match: r.match, instructions, cookie: r.cookie }
    : { tableId: r.tableId, priority: r.priority, match: r.match, instructions, cookie: r.cookie, idleTimeout, notifyRemoval: true };
  return cache ? cache.take(r, sig, idleTimeout, make) : make();
}

// Match fields are immutable like the rest of a flow: one object per label and per port,
// shared by every match that has it (a label's several hundred thousand deliveries at 100k
// containers).
const vlanFields = new Map<number, OxmField>();

function vlanIs(label: number): OxmField {
  let f = vlanFields.get(label);
  if (!f) vlanFields.set(label, (f = { field: 'vlan_vid', value: OFPVID_PRESENT | label }));
  return f;
}

/**
 * What is made once per port number and shared by every bridge and computation that has that
 * port (flows and groups are never modified once built): at 100k containers the per-port objects
 * of every container (its instructions, its flood bucket) were ~600 B, and the maps that kept them
 * per context ~37 B an entry. Numbers OVS assigns (below 2^16) are slots of one array (holey, at
 * most 512 KiB); others go to a Map.
 */
export class ByPort<T> {
  private dense: (T | undefined)[] | undefined;
  private readonly other = new Map<number, T>();

  constructor(private readonly make: (port: number) => T) {}

  get(port: number): T {
    if (Number.isInteger(port) && port >= 0 && port < DENSE_PORTS) {
      const slots = (this.dense ??= new Array<T | undefined>(DENSE_PORTS));
      let v = slots[port];
      if (v === undefined) slots[port] = v = this.make(port);
      return v;
    }
    let v = this.other.get(port);
    if (v === undefined) this.other.set(port, (v = this.make(port)));
    return v;
  }
}

const DENSE_PORTS = 0x10000;

/** A port's shared objects, all made at once: a container's port needs each of them. */
interface PortObjects {
  inPort: OxmField;
  /** Output to the port: its instructions, and its flood bucket (the same action list). */
  output: Instruction[];
  /** Pop the label, output to the port. */
  popOutput: Instruction[];
  bucket: Bucket;
}

const portObjects = new ByPort<PortObjects>((port) => {
  const out: Action = { type: 'OUTPUT', port, maxLen: 0 };
  const actions = [out];
  return { inPort: { field: 'in_port', value: port }, output: [applyActions(actions)], popOutput: [applyActions([POP, out])], bucket: bucket(actions) };
});
const pushes = new Map<number, Instruction[]>();

function inPort(port: number): OxmField {
  return portObjects.get(port).inPort;
}

function outputTo(port: number): Instruction[] {
  return portObjects.get(port).output;
}

function popOutput(port: number): Instruction[] {
  return portObjects.get(port).popOutput;
}

function pushLabel(label: number): Instruction[] {
  let instructions = pushes.get(label);
  if (!instructions) pushes.set(label, (instructions = [applyActions([PUSH, setVid(label)]), gotoLabels()]));
  return instructions;
}

function bucket(actions: Action[]): Bucket {
  return { weight: 0, watchPort: Port.ANY, watchGroup: 0xffffffff, actions };
}

function setVid(vid: number): Action {
  return { type: 'SET_FIELD', field: { field: 'vlan_vid', value: OFPVID_PRESENT | vid } };
}

function output(port: number): Action {
  return { type: 'OUTPUT', port, maxLen: 0 };
}

function toController(): Action {
  return { type: 'OUTPUT', port: Port.CONTROLLER, maxLen: NO_BUFFER_MAX_LEN };
}

function applyActions(actions: Action[]): Instruction {
  return { type: 'APPLY_ACTIONS', actions };
}

function gotoLabels(): Instruction {
  return { type: 'GOTO_TABLE', tableId: LABEL_TABLE };
}

const PUSH: Action = { type: 'PUSH_VLAN', ethertype: ETH_TYPE_VLAN };
const POP: Action = { type: 'POP_VLAN' };
// Shared by every flow that has them: flows are never modified once built.
const FLOOD: Instruction[] = [applyActions([{ type: 'GROUP', groupId: FLOOD_GROUP }])];
const GOTO_EDGE: Instruction[] = [{ type: 'GOTO_TABLE', tableId: EDGE_TABLE }];
/**
 * The priority bits of the label tag mark a migration's bicast copy for the old edge (pushed
 * tags start at 0): once committed, the old edge drops such copies instead of relabelling them.
 */
const OLD_COPY_PCP = 1;
const OLD_COPY: Action = { type: 'SET_FIELD', field: { field: 'vlan_pcp', value: OLD_COPY_PCP } };
const NEW_COPY: Action = { type: 'SET_FIELD', field: { field: 'vlan_pcp', value: 0 } };
const ARRIVAL_INSTRUCTIONS: Instruction[] = [applyActions([toController()]), { type: 'GOTO_TABLE', tableId: EDGE_TABLE }];
const GOTO_LABELS: Instruction[] = [gotoLabels()];
// The whole frame, untagged, never a switch buffer: the controller replays it with PACKET_OUT.
const HOLD_INSTRUCTIONS: Instruction[] = [applyActions([POP, toController()])];
const PROXY_ARP_INSTRUCTIONS: Instruction[] = [{ type: 'METER', meterId: CONTROLLER_METER }, applyActions([toController()])];
const INGRESS_MISS_INSTRUCTIONS: Instruction[] = [{ type: 'METER', meterId: CONTROLLER_METER }, applyActions([toController()]), { type: 'GOTO_TABLE', tableId: EDGE_TABLE }];
// Flooded first, in table 1: the meter in table 3 can then drop only the controller's copy.
const UNKNOWN_DESTINATION_INSTRUCTIONS: Instruction[] = [applyActions([{ type: 'GROUP', groupId: FLOOD_GROUP }]), { type: 'GOTO_TABLE', tableId: CONTROLLER_TABLE }];
const TO_CONTROLLER_INSTRUCTIONS: Instruction[] = [{ type: 'METER', meterId: CONTROLLER_METER }, applyActions([toController()])];
const MULTICAST: OxmField = { field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' };
const UNTAGGED: OxmField = { field: 'vlan_vid', value: OFPVID_NONE };
const PROXY_ARP_RULE = rule(RuleKind.PROXY_ARP, 'arp', INGRESS_TABLE, Priority.PROXY_ARP, [{ field: 'eth_type', value: ETH_TYPE_ARP }, { field: 'arp_op', value: ARP_REQUEST }]);
const INGRESS_MISS_RULE = rule(RuleKind.INGRESS_MISS, 'miss', INGRESS_TABLE, Priority.MISS, []);
const EDGE_TAGGED_RULE = rule(RuleKind.EDGE_TAGGED, 'tagged', EDGE_TABLE, Priority.EDGE_TAGGED, [{ field: 'vlan_vid', value: OFPVID_PRESENT, mask: OFPVID_PRESENT }]);
const EDGE_FLOOD_RULE = rule(RuleKind.FLOOD, 'multicast', EDGE_TABLE, Priority.FLOOD, [MULTICAST]);
const UNKNOWN_DESTINATION_RULE = rule(RuleKind.UNKNOWN_DESTINATION, 'miss', EDGE_TABLE, Priority.MISS, []);
const LABEL_DEFAULT_RULE = rule(RuleKind.LABEL_DEFAULT, 'default', LABEL_TABLE, Priority.LABEL_DEFAULT, [{ field: 'vlan_vid', value: OFPVID_PRESENT, mask: OFPVID_PRESENT }]);
const LABEL_UNTAGGED_RULE = rule(RuleKind.FORWARD_MISS, 'untagged', LABEL_TABLE, Priority.MISS, [UNTAGGED]);
const TO_CONTROLLER_RULE = rule(RuleKind.TO_CONTROLLER, 'controller', CONTROLLER_TABLE, Priority.MISS, []);

export type { Match, Attachment };
