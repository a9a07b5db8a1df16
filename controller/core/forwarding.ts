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
 */
import { Port } from '../../src/openflow/constants.js';
import type { Action, Instruction, Match, OxmField } from '../../src/openflow/types/index.js';
import { Paths, spanningTreePorts, type Attachment, type Endpoint, type Fabric } from './fabric.js';
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
 * Keeps the FlowSpec objects of the last computation, keyed by what determines them, so that a
 * recomputation after one change returns the very same objects for every unchanged flow: the
 * diff then recognises them by identity instead of comparing their text. Entries not produced
 * by the latest computation are dropped.
 */
export class FlowCache {
  private current = new Map<string, FlowSpec>();
  private next = new Map<string, FlowSpec>();

  get size(): number {
    return this.current.size;
  }

  /** @internal */
  take(key: string, make: () => FlowSpec): FlowSpec {
    let f = this.next.get(key);
    if (f) return f;
    f = this.current.get(key) ?? make();
    this.next.set(key, f);
    return f;
  }

  /** @internal Ends a computation: what it did not use is forgotten. */
  finish(): void {
    this.current = this.next;
    this.next = new Map();
  }
}

export function computeDesiredState(input: ForwardingInput): Map<string, SwitchState> {
  const options = { ...defaultForwardingOptions, ...input.options };
  const { fabric } = input;
  const paths = new Paths(fabric);
  const tree = spanningTreePorts(fabric);
  const migrating = new Map((input.migrations ?? []).map((m) => [m.mac.toLowerCase(), m]));
  const out = new Map<string, SwitchState>();

  const cache = input.cache ?? new FlowCache();
  for (const bridge of fabric.bridges.values()) {
    const flows: FlowSpec[] = [];
    /**
     * `sig` carries whatever, besides kind and subject, the flow depends on (ports, options):
     * equal cache key = equal flow.
     */
    const add = (kind: number, subject: string, tableId: number, priority: number, match: OxmField[], instructions: Instruction[], sig = '') =>
      flows.push(cache.take(`${bridge.name}|${kind}|${subject}|${tableId}|${priority}|${sig}`,
        () => ({ tableId, priority, match: { fields: match }, instructions, cookie: ruleCookie(kind, subject) })));

    // Table 0: ingress.
    for (const tunnel of bridge.tunnels) {
      add(RuleKind.TUNNEL_INGRESS, `tunnel:${tunnel.peer}`, INGRESS_TABLE, Priority.TUNNEL_INGRESS,
        [{ field: 'in_port', value: tunnel.ofport }], [gotoForwarding()], `${tunnel.ofport}`);
    }
    add(RuleKind.INGRESS_MISS, 'miss', INGRESS_TABLE, Priority.MISS, [],
      [{ type: 'METER', meterId: CONTROLLER_METER }, applyActions([toController()]), gotoForwarding()]);
    for (const ep of input.endpoints) {
      const mac = ep.mac.toLowerCase();
      if (ep.ip) {
        add(RuleKind.PROXY_ARP, `arp:${ep.ip}`, INGRESS_TABLE, Priority.PROXY_ARP,
          [{ field: 'eth_type', value: ETH_TYPE_ARP }, { field: 'arp_op', value: ARP_REQUEST }, { field: 'arp_tpa', value: ep.ip }],
          [{ type: 'METER', meterId: CONTROLLER_METER }, applyActions([toController()])]);
      }
      // A migrating container's frames at its new port are left to the ingress miss: the
      // first one reaches the controller (auto-commit) and all are forwarded meanwhile.
      if (ep.at.bridge === bridge.name) {
        add(RuleKind.KNOWN_SOURCE, `src:${mac}`, INGRESS_TABLE, Priority.KNOWN_SOURCE,
          [{ field: 'in_port', value: ep.at.ofport }, { field: 'eth_src', value: mac }], [gotoForwarding()], `${ep.at.ofport}`);
      }
    }

    // Table 1: forwarding.
    add(RuleKind.FLOOD, 'multicast', FORWARDING_TABLE, Priority.FLOOD,
      [{ field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }], [applyActions([{ type: 'GROUP', groupId: FLOOD_GROUP }])]);
    add(RuleKind.FORWARD_MISS, 'miss', FORWARDING_TABLE, Priority.MISS, [], [applyActions([{ type: 'GROUP', groupId: FLOOD_GROUP }])]);
    for (const ep of input.endpoints) {
      const mac = ep.mac.toLowerCase();
      const migration = migrating.get(mac);
      const oldOut = egressTowards(paths, bridge.name, ep.at);
      if (!migration) {
        if (oldOut !== undefined) {
          add(RuleKind.UNICAST, `dst:${mac}`, FORWARDING_TABLE, Priority.UNICAST,
            [{ field: 'eth_dst', value: mac }], [applyActions([output(oldOut)])], `${oldOut}`);
        }
        continue;
      }
      const newOut = egressTowards(paths, bridge.name, migration.to);
      const oldIsEdge = bridge.name === ep.at.bridge;
      const newIsEdge = bridge.name === migration.to.bridge;
      const sig = `${oldOut}/${oldIsEdge}/${newOut}/${newIsEdge}/${options.towardsOldVid}/${options.towardsNewVid}`;
      add(RuleKind.UNICAST, `dst:${mac}`, FORWARDING_TABLE, Priority.UNICAST,
        [{ field: 'eth_dst', value: mac }],
        [applyActions(bicastActions(oldOut, oldIsEdge, newOut, newIsEdge, options))], `bicast/${sig}`);
      add(RuleKind.MIGRATION_COPY, `old:${mac}`, FORWARDING_TABLE, Priority.MIGRATION_COPY,
        [{ field: 'eth_dst', value: mac }, { field: 'vlan_vid', value: OFPVID_PRESENT | options.towardsOldVid }],
        taggedCopyInstructions(oldOut, oldIsEdge), sig);
      add(RuleKind.MIGRATION_COPY, `new:${mac}`, FORWARDING_TABLE, Priority.MIGRATION_COPY,
        [{ field: 'eth_dst', value: mac }, { field: 'vlan_vid', value: OFPVID_PRESENT | options.towardsNewVid }],
        taggedCopyInstructions(newOut, newIsEdge), sig);
    }

    const floodPorts = [...new Set([...bridge.edgePorts, ...(tree.get(bridge.name) ?? [])])].sort((a, b) => a - b);
    const groups: GroupSpec[] = [{
      groupId: FLOOD_GROUP,
      groupType: 'ALL',
      buckets: floodPorts.map((port) => ({ weight: 0, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [output(port)] })),
    }];
    const meters: MeterSpec[] = [{
      meterId: CONTROLLER_METER,
      flags: 0x2 | 0x4 | 0x8, // PKTPS | BURST | STATS
      bands: [{ type: 'DROP', rate: options.controllerRatePps, burstSize: options.controllerBurst }],
    }];
    out.set(bridge.name, { flows, groups, meters });
  }
  cache.finish();
  return out;
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

export type { Match };
