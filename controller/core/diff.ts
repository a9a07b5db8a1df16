/**
 * Desired vs installed: the minimal set of changes that turns one switch's installed state
 * into its desired state, and the OpenFlow messages that carry them. No I/O.
 */
import { Group, Port } from '../../src/openflow/constants.js';
import type { Message } from '../../src/openflow/types/index.js';
import { isOurCookie } from './cookies.js';
import { canonicalKey, flowKey, instructionsKey, type FlowSpec, type GroupSpec, type MeterSpec, type SwitchState } from './flows.js';

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
 * keeps one per switch and updates it in place as changes are confirmed.
 */
export interface InstalledState {
  flows: Map<string, FlowSpec>;
  groups: Map<number, GroupSpec>;
  meters: Map<number, MeterSpec>;
}

/** Indexes a switch's state; flows that are not ours (other cookies) are left out: we never touch them. */
export function indexInstalled(state: SwitchState): InstalledState {
  const flows = new Map<string, FlowSpec>();
  for (const f of state.flows) if (isOurCookie(f.cookie)) flows.set(flowKey(f), f);
  return { flows, groups: new Map(state.groups.map((g) => [g.groupId, g])), meters: new Map(state.meters.map((m) => [m.meterId, m])) };
}

/** Records a confirmed change in the installed state. */
export function applyDiff(installed: InstalledState, d: SwitchDiff): void {
  for (const f of d.flowsToDelete) installed.flows.delete(flowKey(f));
  for (const f of d.flowsToAdd) installed.flows.set(flowKey(f), f);
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
  // A switch that holds none of our flows (start-up, a wiped table): every desired flow is an
  // ADD, no key to compute. Should two share a key, the switch and applyDiff keep the later one.
  if (installed.flows.size === 0) return diffEmptyFlows(desired, installed, own);
  const want = new Map<string, FlowSpec>();
  for (const f of desired.flows) want.set(flowKey(f), f);
  const flowsToAdd: FlowSpec[] = [];
  for (const [key, f] of want) {
    const cur = installed.flows.get(key);
    if (needsAdd(cur, f)) flowsToAdd.push(f);
    else if (cur !== f) installed.flows.set(key, f);
  }
  const flowsToDelete: FlowSpec[] = [];
  for (const [key, f] of installed.flows) if (!want.has(key)) flowsToDelete.push(f);

  const groups = diffById(desired.groups, installed.groups, (g) => g.groupId, (a, b) => a.groupType === b.groupType && canonicalKey(a.buckets) === canonicalKey(b.buckets), own.groupIds);
  const meters = diffById(desired.meters, installed.meters, (m) => m.meterId, (a, b) => a.flags === b.flags && canonicalKey(a.bands) === canonicalKey(b.bands), own.meterIds);
  return {
    flowsToAdd, flowsToDelete,
    groupsToAdd: groups.add, groupsToModify: groups.modify, groupsToDelete: groups.remove,
    metersToAdd: meters.add, metersToModify: meters.modify, metersToDelete: meters.remove,
  };
}

function diffEmptyFlows(desired: SwitchState, installed: InstalledState, own: OwnIds): SwitchDiff {
  const groups = diffById(desired.groups, installed.groups, (g) => g.groupId, (a, b) => a.groupType === b.groupType && canonicalKey(a.buckets) === canonicalKey(b.buckets), own.groupIds);
  const meters = diffById(desired.meters, installed.meters, (m) => m.meterId, (a, b) => a.flags === b.flags && canonicalKey(a.bands) === canonicalKey(b.bands), own.meterIds);
  return {
    flowsToAdd: desired.flows.slice(), flowsToDelete: [],
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
    if (needsAdd(installed.flows.get(key), f)) d.flowsToAdd.push(f);
  }
  for (const f of before) {
    const key = flowKey(f);
    if (wanted!.has(key)) continue;
    const cur = installed.flows.get(key);
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

