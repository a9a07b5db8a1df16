/**
 * Desired vs installed: the minimal set of changes that turns one switch's installed state
 * into its desired state, and the OpenFlow messages that carry them. No I/O.
 */
import { Group, Port } from '../../src/openflow/constants.js';
import type { Message } from '../../src/openflow/types/index.js';
import { isOurCookie } from './cookies.js';
import { canonicalKey, flowKey, instructionsKey, type FlowSpec, type GroupSpec, type MeterSpec, type SwitchState } from './flows.js';
import { EDGE_TABLE, Priority } from './forwarding.js';
import type { Match } from '../../src/openflow/types/index.js';

/** DELETE_STRICT with the exact cookie: never removes a flow some other rule (or tool) owns. */
const ALL_COOKIE_BITS = 0xffff_ffff_ffff_ffffn;
/**
 * OFPFF_RESET_COUNTS: an ADD that replaces a flow (the flip gives it new actions) would keep
 * the old counters (OF 1.3 §6.4), crediting the new path with the old one's packets. A new
 * flow starts at zero anyway, so every ADD carries it.
 */
export const OFPFF_RESET_COUNTS = 1 << 2;
/** OFPFF_SEND_FLOW_REM: the switch reports the flow's removal (idle timeout of an on-demand entry). */
export const OFPFF_SEND_FLOW_REM = 1 << 0;

export interface SwitchDiff {
  /** Flows to add or replace (an ADD with the same table/priority/match replaces atomically). */
  flowsToAdd: FlowSpec[];
  /** Installed flows of ours that no rule wants any more. */
  flowsToDelete: FlowSpec[];
  groupsToAdd: GroupSpec[];
  groupsToModify: GroupSpec[];
  groupsToDelete: GroupSpec[];
  metersToAdd: MeterSpec[];
  metersToModify: MeterSpec[];
  metersToDelete: MeterSpec[];
}

export function emptyDiff(): SwitchDiff {
  return {
    flowsToAdd: [], flowsToDelete: [], groupsToAdd: [], groupsToModify: [], groupsToDelete: [],
    metersToAdd: [], metersToModify: [], metersToDelete: [],
  };
}

export function isEmptyDiff(d: SwitchDiff): boolean {
  return d.flowsToAdd.length + d.flowsToDelete.length + d.groupsToAdd.length + d.groupsToModify.length +
    d.groupsToDelete.length + d.metersToAdd.length + d.metersToModify.length + d.metersToDelete.length === 0;
}

/**
 * What a switch holds, indexed: our flows by flowKey, groups and meters by id. The controller
 * keeps one per switch and updates it in place as changes are confirmed. The flows of the slot
 * (edge table, unicast priority, eth_dst = MAC), a MAC's ingress entry or local delivery, are
 * not in `flows` but in `slots`, shared by every switch of the controller (one record per MAC
 * instead of a map entry per switch and MAC: there are about eight per container): use
 * installedFlow, countInstalled and allInstalled to see them too.
 */
export interface InstalledState {
  flows: Map<string, FlowSpec>;
  groups: Map<number, GroupSpec>;
  meters: Map<number, MeterSpec>;
  /** The switch's name in `slots`. */
  bridge: string;
  slots: MacSlots;
}

/**
 * What each switch holds in its MAC slot (edge table, unicast priority, match eth_dst = MAC),
 * by MAC: a flat run per MAC of flows each followed by the switches that hold it, e.g.
 * [entry, h1, h2, h3, local, h4]. The switches that hold a MAC's ingress entry mostly hold the
 * same flow object (the forwarding code shares it), so a MAC costs about a pointer per switch.
 */
export class MacSlots {
  private readonly byMac = new Map<string, (string | FlowSpec)[]>();
  private readonly counts = new Map<string, number>();

  /** How many slots `bridge` holds. */
  countOn(bridge: string): number {
    return this.counts.get(bridge) ?? 0;
  }

  get(bridge: string, mac: string): FlowSpec | undefined {
    const run = this.byMac.get(mac);
    if (!run) return undefined;
    let flow: FlowSpec | undefined;
    for (const x of run) {
      if (typeof x !== 'string') flow = x;
      else if (x === bridge) return flow;
    }
    return undefined;
  }

  set(bridge: string, mac: string, flow: FlowSpec): void {
    const run = this.byMac.get(mac);
    if (!run) {
      this.byMac.set(mac, [flow, bridge]);
      this.counts.set(bridge, this.countOn(bridge) + 1);
      return;
    }
    const had = run.indexOf(bridge) >= 0;
    const rest = had ? withoutBridge(run, bridge) : run;
    const at = rest.indexOf(flow);
    this.byMac.set(mac, at < 0 ? inserted(rest, rest.length, flow, bridge) : inserted(rest, at + 1, bridge));
    if (!had) this.counts.set(bridge, this.countOn(bridge) + 1);
  }

  delete(bridge: string, mac: string): boolean {
    const run = this.byMac.get(mac);
    if (!run || run.indexOf(bridge) < 0) return false;
    const rest = withoutBridge(run, bridge);
    if (rest.length === 0) this.byMac.delete(mac);
    else this.byMac.set(mac, rest);
    this.counts.set(bridge, this.countOn(bridge) - 1);
    return true;
  }

  /** The slots of `bridge`: a pass over every MAC (a full diff that must delete some, a dump). */
  *on(bridge: string): IterableIterator<[mac: string, flow: FlowSpec]> {
    if (this.countOn(bridge) === 0) return;
    for (const [mac, run] of this.byMac) {
      let flow: FlowSpec | undefined;
      for (const x of run) {
        if (typeof x !== 'string') flow = x;
        else if (x === bridge) yield [mac, flow!];
      }
    }
  }

  /** Forgets what `bridge` holds (its installed state is unknown or read back anew). */
  forget(bridge: string): void {
    if (this.countOn(bridge) === 0) return;
    for (const mac of [...this.byMac.keys()]) this.delete(bridge, mac);
    this.counts.delete(bridge);
  }
}

/**
 * `run` with `items` inserted at `at`, as an array of exactly its length: spread, splice and push
 * leave spare capacity, more than the run itself at a few switches per MAC.
 */
function inserted(run: readonly (string | FlowSpec)[], at: number, ...items: (string | FlowSpec)[]): (string | FlowSpec)[] {
  const out = new Array<string | FlowSpec>(run.length + items.length);
  let j = 0;
  for (let i = 0; i < at; i++) out[j++] = run[i]!;
  for (const x of items) out[j++] = x;
  for (let i = at; i < run.length; i++) out[j++] = run[i]!;
  return out;
}

/** `run` without `bridge`, and without a flow no switch holds any more (exactly that long). */
function withoutBridge(run: readonly (string | FlowSpec)[], bridge: string): (string | FlowSpec)[] {
  let n = 0;
  const keep = new Array<boolean>(run.length);
  for (let i = run.length - 1, followed = false; i >= 0; i--) {
    const x = run[i]!;
    // A flow is kept if a switch still holding it follows before the next flow.
    if (typeof x === 'string') keep[i] = x !== bridge;
    else keep[i] = followed;
    if (typeof x === 'string') followed ||= keep[i]!;
    else followed = false;
    if (keep[i]) n++;
  }
  const out = new Array<string | FlowSpec>(n);
  for (let i = 0, j = 0; i < run.length; i++) if (keep[i]) out[j++] = run[i]!;
  return out;
}

/**
 * The MAC of a flow in the MAC slot (edge table, unicast priority, match eth_dst = MAC alone),
 * lower-case; undefined for any other flow.
 */
export function slotMac(flow: { tableId: number; priority: number; match: Match }): string | undefined {
  if (flow.tableId !== EDGE_TABLE || flow.priority !== Priority.UNICAST || flow.match.fields.length !== 1) return undefined;
  const f = flow.match.fields[0]!;
  if (f.field !== 'eth_dst' || f.mask !== undefined || typeof f.value !== 'string') return undefined;
  const mac = f.value;
  const lower = mac.toLowerCase();
  // The MAC as the flow has it when already lower-case: one string shared with its other records.
  return lower === mac ? mac : lower;
}

/** The flow the switch holds with the identity (table, priority, match) of `flow`. */
export function installedFlow(installed: InstalledState, flow: { tableId: number; priority: number; match: Match }): FlowSpec | undefined {
  const mac = slotMac(flow);
  return mac === undefined ? installed.flows.get(flowKey(flow)) : installed.slots.get(installed.bridge, mac);
}

/** Records that the switch holds `flow` (replacing the one with its identity). */
export function setInstalled(installed: InstalledState, flow: FlowSpec): void {
  const mac = slotMac(flow);
  if (mac === undefined) installed.flows.set(flowKey(flow), flow);
  else installed.slots.set(installed.bridge, mac, flow);
}

/** Records that the switch holds no flow with the identity of `flow` any more. */
export function deleteInstalled(installed: InstalledState, flow: { tableId: number; priority: number; match: Match }): void {
  const mac = slotMac(flow);
  if (mac === undefined) installed.flows.delete(flowKey(flow));
  else installed.slots.delete(installed.bridge, mac);
}

/** How many of our flows the switch holds. */
export function countInstalled(installed: InstalledState): number {
  return installed.flows.size + installed.slots.countOn(installed.bridge);
}

/** Every flow of ours the switch holds (the MAC slots take a pass over every MAC). */
export function* allInstalled(installed: InstalledState): IterableIterator<FlowSpec> {
  yield* installed.flows.values();
  for (const [, f] of installed.slots.on(installed.bridge)) yield f;
}

/**
 * Indexes a switch's state; flows that are not ours (other cookies) are left out: we never touch
 * them. `slots` and `bridge` place its MAC slots among the other switches' (absent: its own);
 * what `slots` held for `bridge` before is forgotten.
 */
export function indexInstalled(state: SwitchState, bridge = '', slots = new MacSlots()): InstalledState {
  slots.forget(bridge);
  const installed: InstalledState = {
    flows: new Map(), groups: new Map(state.groups.map((g) => [g.groupId, g])), meters: new Map(state.meters.map((m) => [m.meterId, m])), bridge, slots,
  };
  for (const f of state.flows) if (isOurCookie(f.cookie)) setInstalled(installed, f);
  return installed;
}

/**
 * The installed state of every switch of a controller, by switch name, sharing one MacSlots.
 * Forgetting a switch (delete) forgets its slots too.
 */
export class InstalledTables extends Map<string, InstalledState> {
  readonly slots = new MacSlots();

  /** Indexes what `bridge` holds (read back) as its installed state. */
  index(bridge: string, state: SwitchState): InstalledState {
    const installed = indexInstalled(state, bridge, this.slots);
    super.set(bridge, installed);
    return installed;
  }

  override delete(bridge: string): boolean {
    const had = super.delete(bridge);
    if (had) this.slots.forget(bridge);
    return had;
  }

  override clear(): void {
    for (const bridge of this.keys()) this.slots.forget(bridge);
    super.clear();
  }
}

/** Records a confirmed change in the installed state. */
export function applyDiff(installed: InstalledState, d: SwitchDiff): void {
  for (const f of d.flowsToDelete) deleteInstalled(installed, f);
  for (const f of d.flowsToAdd) setInstalled(installed, f);
  for (const g of d.groupsToDelete) installed.groups.delete(g.groupId);
  for (const g of d.groupsToAdd) installed.groups.set(g.groupId, g);
  for (const g of d.groupsToModify) installed.groups.set(g.groupId, g);
  for (const m of d.metersToDelete) installed.meters.delete(m.meterId);
  for (const m of d.metersToAdd) installed.meters.set(m.meterId, m);
  for (const m of d.metersToModify) installed.meters.set(m.meterId, m);
}

export interface OwnIds {
  groupIds?: ReadonlySet<number>;
  meterIds?: ReadonlySet<number>;
}

/**
 * `installed.flows` may contain flows that are not ours (other cookies): they are left alone.
 * Groups and meters with ids we do not want are deleted only if `own` says we created them.
 */
export function diffSwitchState(desired: SwitchState, installed: SwitchState, own: OwnIds = {}): SwitchDiff {
  return diffInstalled(desired, indexInstalled(installed), own);
}

/**
 * Like diffSwitchState, against an indexed installed state. Where that holds a flow equal to the
 * desired one but as another object, it takes the desired object: the next diff recognises it
 * by identity, and one copy is kept instead of two.
 */
export function diffInstalled(desired: SwitchState, installed: InstalledState, own: OwnIds = {}): SwitchDiff {
  const want = new Map<string, FlowSpec>();
  const wantSlots = new Map<string, FlowSpec>();
  for (const f of desired.flows) {
    const mac = slotMac(f);
    if (mac === undefined) want.set(flowKey(f), f);
    else wantSlots.set(mac, f);
  }
  const flowsToAdd: FlowSpec[] = [];
  for (const [key, f] of want) {
    const cur = installed.flows.get(key);
    if (needsAdd(cur, f)) flowsToAdd.push(f);
    else if (cur !== f) installed.flows.set(key, f);
  }
  // MAC slots: a switch's slots are found by MAC, not listed by switch (see MacSlots).
  const { slots, bridge } = installed;
  let slotsHeld = 0;
  for (const [mac, f] of wantSlots) {
    const cur = slots.get(bridge, mac);
    if (cur !== undefined) slotsHeld++;
    if (needsAdd(cur, f)) flowsToAdd.push(f);
    else if (cur !== f) slots.set(bridge, mac, f);
  }
  const flowsToDelete: FlowSpec[] = [];
  for (const [key, f] of installed.flows) if (!want.has(key)) flowsToDelete.push(f);
  // Every slot held is wanted unless the switch holds more than the wanted ones it has.
  if (slotsHeld < slots.countOn(bridge)) for (const [mac, f] of slots.on(bridge)) if (!wantSlots.has(mac)) flowsToDelete.push(f);

  const groups = diffById(desired.groups, installed.groups, (g) => g.groupId, (a, b) => a.groupType === b.groupType && canonicalKey(a.buckets) === canonicalKey(b.buckets), own.groupIds);
  const meters = diffById(desired.meters, installed.meters, (m) => m.meterId, (a, b) => a.flags === b.flags && canonicalKey(a.bands) === canonicalKey(b.bands), own.meterIds);
  return {
    flowsToAdd, flowsToDelete,
    groupsToAdd: groups.add, groupsToModify: groups.modify, groupsToDelete: groups.remove,
    metersToAdd: meters.add, metersToModify: meters.modify, metersToDelete: meters.remove,
  };
}

/**
 * The diff of a change confined to known flows (an endpoint-only update): `after` are flows the
 * switch must hold, `before` flows it must hold no more unless `after` has one with the same
 * key. Every other flow, group and meter is taken to be as desired already.
 */
export function diffFlowChange(before: readonly FlowSpec[], after: readonly FlowSpec[], installed: InstalledState): SwitchDiff {
  const d = emptyDiff();
  // Keys within `after` are distinct (a MAC or an IP has one owner), as are those within `before`.
  const wanted = before.length > 0 ? new Set<string>() : undefined;
  for (const f of after) {
    const key = flowKey(f);
    wanted?.add(key);
    if (needsAdd(installedFlow(installed, f), f)) d.flowsToAdd.push(f);
  }
  for (const f of before) {
    const key = flowKey(f);
    if (wanted!.has(key)) continue;
    const cur = installedFlow(installed, f);
    if (cur) d.flowsToDelete.push(cur);
  }
  return d;
}

/** An ADD with the same table/priority/match replaces atomically: needed unless what is there is equal. */
function needsAdd(cur: FlowSpec | undefined, f: FlowSpec): boolean {
  if (cur === f) return false; // the very object we installed: unchanged
  return !cur || cur.cookie !== f.cookie || instructionsKey(cur.instructions) !== instructionsKey(f.instructions);
}

function diffById<T>(desired: T[], have: ReadonlyMap<number, T>, id: (x: T) => number, same: (a: T, b: T) => boolean, own?: ReadonlySet<number>) {
  const want = new Map(desired.map((x) => [id(x), x]));
  const add: T[] = [];
  const modify: T[] = [];
  for (const [k, x] of want) {
    const cur = have.get(k);
    if (!cur) add.push(x);
    else if (!same(cur, x)) modify.push(x);
  }
  const remove = [...have].filter(([k]) => !want.has(k) && (own?.has(k) ?? false)).map(([, x]) => x);
  return { add, modify, remove };
}

/**
 * The messages of a diff, in an order that never references a missing group or meter:
 * meters and groups first, then flows, then removals of flows, then of groups and meters.
 * xids are left 0: the session assigns them.
 */
export function diffToMessages(d: SwitchDiff): Message[] {
  const msgs: Message[] = [];
  for (const m of d.metersToAdd) msgs.push(meterMod('ADD', m));
  for (const m of d.metersToModify) msgs.push(meterMod('MODIFY', m));
  for (const g of d.groupsToAdd) msgs.push(groupMod('ADD', g));
  for (const g of d.groupsToModify) msgs.push(groupMod('MODIFY', g));
  // Loops, not push(...list): a spread of 100k+ flows overflows the call stack.
  for (const m of flowAdds(d.flowsToAdd)) msgs.push(m);
  for (const m of flowDeletes(d.flowsToDelete)) msgs.push(m);
  for (const g of d.groupsToDelete) msgs.push(groupMod('DELETE', g));
  for (const m of d.metersToDelete) msgs.push(meterMod('DELETE', m));
  return msgs;
}

export function flowAdds(flows: FlowSpec[]): Message[] {
  return flows.map((f) => ({
    type: 'FLOW_MOD', xid: 0, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, command: 'ADD',
    idleTimeout: f.idleTimeout ?? 0, hardTimeout: 0, priority: f.priority, bufferId: 0xffffffff, outPort: Port.ANY,
    outGroup: Group.ANY, flags: OFPFF_RESET_COUNTS | (f.notifyRemoval ? OFPFF_SEND_FLOW_REM : 0), match: f.match, instructions: f.instructions,
  }) as Message);
}

export function flowDeletes(flows: FlowSpec[]): Message[] {
  return flows.map((f) => ({
    type: 'FLOW_MOD', xid: 0, cookie: f.cookie, cookieMask: ALL_COOKIE_BITS,
    tableId: f.tableId, command: 'DELETE_STRICT', idleTimeout: 0, hardTimeout: 0, priority: f.priority,
    bufferId: 0xffffffff, outPort: Port.ANY, outGroup: Group.ANY, flags: 0, match: f.match, instructions: [],
  }) as Message);
}

function groupMod(command: 'ADD' | 'MODIFY' | 'DELETE', g: GroupSpec): Message {
  return { type: 'GROUP_MOD', xid: 0, command, groupType: g.groupType, groupId: g.groupId, buckets: command === 'DELETE' ? [] : g.buckets } as Message;
}

function meterMod(command: 'ADD' | 'MODIFY' | 'DELETE', m: MeterSpec): Message {
  return { type: 'METER_MOD', xid: 0, command, flags: m.flags, meterId: m.meterId, bands: command === 'DELETE' ? [] : m.bands } as Message;
}

