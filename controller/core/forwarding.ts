/**
 * Proactive forwarding as a pure function, in the manner of Faucet's valve:
 * (fabric, endpoint locations, migrations in progress) → the desired state of every switch.
 * No I/O here; the session layer diffs this against what a switch has and sends the difference.
 *
 * Table layout (documented in controller/README.md):
 *   table 0  ingress: tunnel ports skip learning; a known MAC at its known edge port passes;
 *            ARP requests for known IPs go to the controller (proxy ARP); anything else is
 *            sent to the controller (metered: learning, host-move detection) AND forwarded.
 *   table 1  forwarding: one flow per known destination MAC along shortest paths; broadcast,
 *            multicast and unknown unicast flooded through group FLOOD_GROUP (edge ports plus
 *            spanning-tree tunnels only, so cycles in the graph cannot loop).
 * During a migration, frames for the container are bicast where the paths to the old and the
 * new location diverge: each copy is tagged with a reserved VLAN id (one for "towards old",
 * one for "towards new") so that downstream switches forward it along its own tree and never
 * copy it again; the tag is popped at the edge port.
 *
 * A bridge's state is its base (tunnel ingress, misses, flooding, group, meter) plus the flows of
 * every endpoint, each of which depends only on the context (paths, tree, options, migrations)
 * and that endpoint: a change of some endpoints is recomputed alone (endpointChangeFlows).
 */
import { Port } from '../../src/openflow/constants.js';
import type { Action, Instruction, Match, OxmField } from '../../src/openflow/types/index.js';
import { Paths, spanningTreePorts, type Attachment, type Endpoint, type Fabric, type FabricBridge } from './fabric.js';
import { RuleKind, ruleCookie } from './cookies.js';
import type { FlowSpec, GroupSpec, MeterSpec, SwitchState } from './flows.js';

export const INGRESS_TABLE = 0;
export const FORWARDING_TABLE = 1;
export const FLOOD_GROUP = 1;
export const CONTROLLER_METER = 1;
const OFPVID_PRESENT = 0x1000;
const ETH_TYPE_ARP = 0x0806;
const ETH_TYPE_VLAN = 0x8100;
const ARP_REQUEST = 1;
const NO_BUFFER_MAX_LEN = 0xffff;

export const Priority = {
  PROXY_ARP: 300,
  MIGRATION_HOLD: 210,
  MIGRATION_COPY: 200,
  KNOWN_SOURCE: 200,
  TUNNEL_INGRESS: 100,
  UNICAST: 100,
  FLOOD: 50,
  MISS: 0,
} as const;

export interface ForwardingOptions {
  /** VLAN ids reserved for tagging migration copies (never used by containers). */
  towardsOldVid: number;
  towardsNewVid: number;
  /** Packet-ins per second allowed through the controller meter, per switch. */
  controllerRatePps: number;
  controllerBurst: number;
}

export const defaultForwardingOptions: ForwardingOptions = {
  towardsOldVid: 4001,
  towardsNewVid: 4002,
  controllerRatePps: 1000,
  controllerBurst: 200,
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
}

export interface ForwardingInput {
  fabric: Fabric;
  /** Every known endpoint at its current location (for a migrating one: its old location). */
  endpoints: readonly Endpoint[];
  migrations?: readonly MigrationInProgress[];
  options?: Partial<ForwardingOptions>;
  /** Reuses the flow objects of the previous computation where nothing changed (see FlowCache). */
  cache?: FlowCache;
}

/**
 * Keeps the FlowSpec objects of the last full computation, keyed by what determines them, so
 * that a recomputation after one change returns the very same objects for every unchanged flow:
 * the diff then recognises them by identity instead of comparing their text. Entries not
 * produced by the latest computation are dropped.
 */
export class FlowCache {
  private readonly flows = new Map<string, { flow: FlowSpec; computation: number }>();
  private computation = 0;

  get size(): number {
    return this.flows.size;
  }

  /** @internal */
  take(key: string, make: () => FlowSpec): FlowSpec {
    const entry = this.flows.get(key);
    if (!entry) {
      const flow = make();
      this.flows.set(key, { flow, computation: this.computation });
      return flow;
    }
    entry.computation = this.computation;
    return entry.flow;
  }

  /** @internal Ends a computation: what it did not use is forgotten. */
  finish(): void {
    for (const [key, entry] of this.flows) if (entry.computation !== this.computation) this.flows.delete(key);
    this.computation++;
  }
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
  /** Instructions "output to port N", shared by every flow that has them (their text is computed once). */
  outputs: Map<number, Instruction[]>;
}

export function forwardingContext(input: Omit<ForwardingInput, 'endpoints' | 'cache'>): ForwardingContext {
  return {
    fabric: input.fabric,
    bridges: [...input.fabric.bridges.keys()],
    paths: new Paths(input.fabric),
    tree: spanningTreePorts(input.fabric),
    options: { ...defaultForwardingOptions, ...input.options },
    migrations: new Map((input.migrations ?? []).map((m) => [m.mac.toLowerCase(), m])),
    outputs: new Map(),
  };
}

export function computeDesiredState(input: ForwardingInput): Map<string, SwitchState> {
  return desiredStateFor(forwardingContext(input), input.endpoints, input.cache);
}

/** The desired state of every bridge: its base flows, groups and meters plus every endpoint's flows. */
export function desiredStateFor(ctx: ForwardingContext, endpoints: readonly Endpoint[], cache = new FlowCache()): Map<string, SwitchState> {
  // Listed table by table: a dump of the desired state reads in pipeline order.
  const ingress = ctx.bridges.map((): FlowSpec[] => []);
  const forwarding = ctx.bridges.map((): FlowSpec[] => []);
  const place = (flows: FlowSpec[], i: number) => {
    for (const f of flows) (f.tableId === INGRESS_TABLE ? ingress : forwarding)[i]!.push(f);
  };
  ctx.bridges.forEach((name, i) => place(bridgeFlows(ctx, ctx.fabric.bridges.get(name)!, cache), i));
  for (const ep of endpoints) endpointFlows(ctx, ctx.bridges, ep, cache).forEach(place);
  const out = new Map<string, SwitchState>();
  ctx.bridges.forEach((name, i) => {
    const bridge = ctx.fabric.bridges.get(name)!;
    out.set(name, { flows: [...ingress[i]!, ...forwarding[i]!], groups: bridgeGroups(ctx, bridge), meters: bridgeMeters(ctx) });
  });
  cache.finish();
  return out;
}

/** Flows of a bridge that no endpoint determines: tunnel ingress, the misses, flooding. */
export function bridgeFlows(ctx: ForwardingContext, bridge: FabricBridge, cache?: FlowCache): FlowSpec[] {
  const on = (r: Rule, instructions: Instruction[], sig: string | number = '') => flowOn(bridge.name, r, instructions, sig, cache);
  const flood = [applyActions([{ type: 'GROUP', groupId: FLOOD_GROUP }])];
  return [
    ...bridge.tunnels.map((tunnel) => on(rule(RuleKind.TUNNEL_INGRESS, `tunnel:${tunnel.peer}`, INGRESS_TABLE, Priority.TUNNEL_INGRESS,
      [{ field: 'in_port', value: tunnel.ofport }]), GOTO_FORWARDING, tunnel.ofport)),
    on(rule(RuleKind.INGRESS_MISS, 'miss', INGRESS_TABLE, Priority.MISS, []),
      [{ type: 'METER', meterId: CONTROLLER_METER }, applyActions([toController()]), gotoForwarding()]),
    on(rule(RuleKind.FLOOD, 'multicast', FORWARDING_TABLE, Priority.FLOOD,
      [{ field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }]), flood),
    on(rule(RuleKind.FORWARD_MISS, 'miss', FORWARDING_TABLE, Priority.MISS, []), flood),
  ];
}

export function bridgeGroups(ctx: ForwardingContext, bridge: FabricBridge): GroupSpec[] {
  const floodPorts = [...new Set([...bridge.edgePorts, ...(ctx.tree.get(bridge.name) ?? [])])].sort((a, b) => a - b);
  return [{
    groupId: FLOOD_GROUP,
    groupType: 'ALL',
    buckets: floodPorts.map((port) => ({ weight: 0, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [output(port)] })),
  }];
}

export function bridgeMeters(ctx: ForwardingContext): MeterSpec[] {
  return [{
    meterId: CONTROLLER_METER,
    flags: 0x2 | 0x4 | 0x8, // PKTPS | BURST | STATS
    bands: [{ type: 'DROP', rate: ctx.options.controllerRatePps, burstSize: ctx.options.controllerBurst }],
  }];
}

/**
 * The flows one endpoint needs on each of `bridges`: proxy ARP for its IP, its known source
 * port, and the unicast flow towards it (during its migration: bicast plus the tagged copies'
 * flows). Matches and cookies are built once and shared by every bridge's flows.
 */
export function endpointFlows(ctx: ForwardingContext, bridges: readonly string[], ep: Endpoint, cache?: FlowCache): FlowSpec[][] {
  const mac = ep.mac.toLowerCase();
  const migration = ctx.migrations.get(mac);
  const arp = ep.ip ? rule(RuleKind.PROXY_ARP, `arp:${ep.ip}`, INGRESS_TABLE, Priority.PROXY_ARP,
    [{ field: 'eth_type', value: ETH_TYPE_ARP }, { field: 'arp_op', value: ARP_REQUEST }, { field: 'arp_tpa', value: ep.ip }]) : undefined;
  const unicast = rule(RuleKind.UNICAST, `dst:${mac}`, FORWARDING_TABLE, Priority.UNICAST, [{ field: 'eth_dst', value: mac }]);
  const { options } = ctx;
  // During its migration: where it is going, and the rules of the tagged copies.
  const migrating = migration && {
    to: migration.to,
    old: rule(RuleKind.MIGRATION_COPY, `old:${mac}`, FORWARDING_TABLE, Priority.MIGRATION_COPY,
      [{ field: 'eth_dst', value: mac }, { field: 'vlan_vid', value: OFPVID_PRESENT | options.towardsOldVid }]),
    new: rule(RuleKind.MIGRATION_COPY, `new:${mac}`, FORWARDING_TABLE, Priority.MIGRATION_COPY,
      [{ field: 'eth_dst', value: mac }, { field: 'vlan_vid', value: OFPVID_PRESENT | options.towardsNewVid }]),
    holdRule: rule(RuleKind.MIGRATION_HOLD, `hold:${mac}`, FORWARDING_TABLE, Priority.MIGRATION_HOLD,
      [{ field: 'eth_dst', value: mac }, { field: 'vlan_vid', value: OFPVID_PRESENT | options.towardsNewVid }]),
  };
  const copiesReach = migration && bridgesReachedByCopies(ctx, ep.at, migration.to);
  return bridges.map((bridge) => {
    const flows: FlowSpec[] = [];
    // ARP requests enter at edge ports: a bridge without any (a transit switch) needs no
    // proxy-ARP flow per IP, which would otherwise grow every transit table with every container.
    if (arp && hasEdgePorts(ctx, bridge)) flows.push(flowOn(bridge, arp, PROXY_ARP_INSTRUCTIONS, '', cache));
    // A migrating container's frames at its new port are left to the ingress miss: the
    // first one reaches the controller (auto-commit) and all are forwarded meanwhile.
    if (ep.at.bridge === bridge) {
      const source = rule(RuleKind.KNOWN_SOURCE, `src:${mac}`, INGRESS_TABLE, Priority.KNOWN_SOURCE,
        [{ field: 'in_port', value: ep.at.ofport }, { field: 'eth_src', value: mac }]);
      flows.push(flowOn(bridge, source, GOTO_FORWARDING, ep.at.ofport, cache));
    }
    const oldOut = egressTowards(ctx.paths, bridge, ep.at);
    if (!migrating) {
      if (oldOut !== undefined) flows.push(flowOn(bridge, unicast, outputTo(ctx, oldOut), oldOut, cache));
      return flows;
    }
    const newOut = egressTowards(ctx.paths, bridge, migrating.to);
    const oldIsEdge = bridge === ep.at.bridge;
    const newIsEdge = bridge === migrating.to.bridge;
    const holding = newIsEdge && migration.hold === true;
    const sig = `${oldOut}/${oldIsEdge}/${newOut}/${newIsEdge}/${options.towardsOldVid}/${options.towardsNewVid}`;
    // Held: untagged frames entering at the new edge itself go to the controller (first, while
    // still untagged) instead of the new port, and so do the tagged copies (rule above theirs).
    const bicast = holding
      ? [toController(), ...bicastActions(oldOut, oldIsEdge, undefined, newIsEdge, options)]
      : bicastActions(oldOut, oldIsEdge, newOut, newIsEdge, options);
    flows.push(flowOn(bridge, unicast, [applyActions(bicast)], `bicast/${sig}/${holding ? 'hold' : ''}`, cache));
    // The tagged copies' rules only where a copy can arrive: a migration then touches the
    // switches on the paths between its copies and its two locations, not every switch.
    if (copiesReach!.old.has(bridge)) flows.push(flowOn(bridge, migrating.old, taggedCopyInstructions(oldOut, oldIsEdge), sig, cache));
    if (copiesReach!.new.has(bridge)) flows.push(flowOn(bridge, migrating.new, taggedCopyInstructions(newOut, newIsEdge), sig, cache));
    if (holding) flows.push(flowOn(bridge, migrating.holdRule, HOLD_INSTRUCTIONS, '', cache));
    return flows;
  });
}

/** An endpoint as the flows were last computed for it and as it is now (absent: not there). */
export interface EndpointChange {
  before?: Endpoint;
  after?: Endpoint;
}

/** What a change of some endpoints does to each of `bridges`: the flows they produced before and those they produce now. */
export function endpointChangeFlows(ctx: ForwardingContext, bridges: readonly string[], changes: readonly EndpointChange[]): { before: FlowSpec[]; after: FlowSpec[] }[] {
  const out = bridges.map(() => ({ before: [] as FlowSpec[], after: [] as FlowSpec[] }));
  for (const c of changes) {
    if (c.before) endpointFlows(ctx, bridges, c.before).forEach((flows, i) => { for (const f of flows) out[i]!.before.push(f); });
    if (c.after) endpointFlows(ctx, bridges, c.after).forEach((flows, i) => { for (const f of flows) out[i]!.after.push(f); });
  }
  return out;
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
  return { kind, subject, tableId, priority, match: { fields }, cookie: ruleCookie(kind, subject) };
}

/**
 * A rule's flow on `bridge`. `sig` carries whatever, besides the rule, the instructions depend
 * on (ports, options): equal cache key = equal flow.
 */
function flowOn(bridge: string, r: Rule, instructions: Instruction[], sig: string | number, cache: FlowCache | undefined): FlowSpec {
  const make = (): FlowSpec => ({ tableId: r.tableId, priority: r.priority, match: r.match, instructions, cookie: r.cookie });
  return cache ? cache.take(`${bridge}|${r.kind}|${r.subject}|${r.tableId}|${r.priority}|${sig}`, make) : make();
}

/**
 * The bridges a tagged copy of a migrating container's frames can reach: from every bridge
 * where the paths to its old and new location diverge (where bicastActions copies), along the
 * shortest path to each location. Paths follow next-hop trees, so a walk stops where it joins
 * a path already taken.
 */
function bridgesReachedByCopies(ctx: ForwardingContext, from: Attachment, to: { bridge: string; ofport?: number }): { old: Set<string>; new: Set<string> } {
  const reached = { old: new Set<string>(), new: new Set<string>() };
  const follow = (start: string, target: string, into: Set<string>) => {
    let at: string | undefined = start;
    while (at !== undefined && !into.has(at)) {
      into.add(at);
      if (at === target) return;
      const port = ctx.paths.nextHop(at, target);
      at = port === undefined ? undefined : ctx.fabric.bridges.get(at)?.tunnels.find((t) => t.ofport === port)?.peer;
    }
  };
  for (const bridge of ctx.bridges) {
    const oldOut = egressTowards(ctx.paths, bridge, from);
    const newOut = egressTowards(ctx.paths, bridge, to);
    if (newOut === undefined || newOut === oldOut) continue; // no copy made here
    if (oldOut !== undefined) follow(bridge, from.bridge, reached.old);
    follow(bridge, to.bridge, reached.new);
  }
  return reached;
}

function hasEdgePorts(ctx: ForwardingContext, bridge: string): boolean {
  return (ctx.fabric.bridges.get(bridge)?.edgePorts.length ?? 0) > 0;
}

function outputTo(ctx: ForwardingContext, port: number): Instruction[] {
  let instructions = ctx.outputs.get(port);
  if (!instructions) ctx.outputs.set(port, (instructions = [applyActions([output(port)])]));
  return instructions;
}

/** Port on `bridge` that leads to `at`: the edge port itself on its own bridge, else a tunnel. */
function egressTowards(paths: Paths, bridge: string, at: { bridge: string; ofport?: number }): number | undefined {
  if (bridge === at.bridge) return at.ofport;
  return paths.nextHop(bridge, at.bridge);
}

/**
 * Untagged frames for a migrating MAC: where both locations are reached through the same port
 * (or only one is reachable) forward as usual; where they diverge, send one copy each way,
 * tagged unless it leaves through the edge port itself. Untagged outputs come first, before
 * the push.
 */
function bicastActions(oldOut: number | undefined, oldIsEdge: boolean, newOut: number | undefined, newIsEdge: boolean, options: ForwardingOptions): Action[] {
  if (newOut === undefined || newOut === oldOut) return oldOut === undefined ? [] : [output(oldOut)];
  if (oldOut === undefined) return newIsEdge ? [output(newOut)] : [...pushVlan(options.towardsNewVid), output(newOut)];
  const copies = [
    { port: oldOut, edge: oldIsEdge, vid: options.towardsOldVid },
    { port: newOut, edge: newIsEdge, vid: options.towardsNewVid },
  ];
  const actions: Action[] = copies.filter((c) => c.edge).map((c) => output(c.port));
  let pushed = false;
  for (const c of copies.filter((c) => !c.edge)) {
    if (!pushed) {
      actions.push({ type: 'PUSH_VLAN', ethertype: ETH_TYPE_VLAN });
      pushed = true;
    }
    actions.push(setVid(c.vid), output(c.port));
  }
  return actions;
}

function taggedCopyInstructions(out: number | undefined, isEdge: boolean): Instruction[] {
  if (out === undefined) return []; // no instructions = drop
  return [applyActions(isEdge ? [{ type: 'POP_VLAN' }, output(out)] : [output(out)])];
}

function pushVlan(vid: number): Action[] {
  return [{ type: 'PUSH_VLAN', ethertype: ETH_TYPE_VLAN }, setVid(vid)];
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

function gotoForwarding(): Instruction {
  return { type: 'GOTO_TABLE', tableId: FORWARDING_TABLE };
}

// Shared by every flow that has them: flows are never modified once built.
const GOTO_FORWARDING: Instruction[] = [gotoForwarding()];
// The whole frame, untagged, never a switch buffer: the controller replays it with PACKET_OUT.
const HOLD_INSTRUCTIONS: Instruction[] = [applyActions([{ type: 'POP_VLAN' }, toController()])];
const PROXY_ARP_INSTRUCTIONS: Instruction[] = [{ type: 'METER', meterId: CONTROLLER_METER }, applyActions([toController()])];

export type { Match };
