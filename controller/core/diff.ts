/**
 * Desired vs installed: the minimal set of changes that turns one switch's installed state
 * into its desired state, and the OpenFlow messages that carry them. Pure.
 */
import { Group, Port } from '../../src/openflow/constants.js';
import type { Message } from '../../src/openflow/types/index.js';
import { isOurCookie } from './cookies.js';

/** DELETE_STRICT with the exact cookie: never removes a flow some other rule (or tool) owns. */
const ALL_COOKIE_BITS = 0xffff_ffff_ffff_ffffn;
import { canonicalKey, flowKey, instructionsKey, type FlowSpec, type GroupSpec, type MeterSpec, type SwitchState } from './flows.js';

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

export function isEmptyDiff(d: SwitchDiff): boolean {
  return d.flowsToAdd.length + d.flowsToDelete.length + d.groupsToAdd.length + d.groupsToModify.length +
    d.groupsToDelete.length + d.metersToAdd.length + d.metersToModify.length + d.metersToDelete.length === 0;
}

/**
 * `installed.flows` may contain flows that are not ours (other cookies): they are left alone.
 * Groups and meters with ids we do not want are deleted only if `ownGroupIds`/`ownMeterIds`
 * say we created them.
 */
export function diffSwitchState(desired: SwitchState, installed: SwitchState, own: { groupIds?: ReadonlySet<number>; meterIds?: ReadonlySet<number> } = {}): SwitchDiff {
  const have = new Map<string, FlowSpec>();
  for (const f of installed.flows) if (isOurCookie(f.cookie)) have.set(flowKey(f), f);
  const want = new Map<string, FlowSpec>();
  for (const f of desired.flows) want.set(flowKey(f), f);

  const flowsToAdd: FlowSpec[] = [];
  for (const [key, f] of want) {
    const cur = have.get(key);
    if (cur === f) continue; // the very object we installed: unchanged
    if (!cur || cur.cookie !== f.cookie || instructionsKey(cur.instructions) !== instructionsKey(f.instructions)) flowsToAdd.push(f);
  }
  const flowsToDelete = [...have].filter(([key]) => !want.has(key)).map(([, f]) => f);

  const groups = diffById(desired.groups, installed.groups, (g) => g.groupId, (a, b) => a.groupType === b.groupType && canonicalKey(a.buckets) === canonicalKey(b.buckets), own.groupIds);
  const meters = diffById(desired.meters, installed.meters, (m) => m.meterId, (a, b) => a.flags === b.flags && canonicalKey(a.bands) === canonicalKey(b.bands), own.meterIds);
  return {
    flowsToAdd, flowsToDelete,
    groupsToAdd: groups.add, groupsToModify: groups.modify, groupsToDelete: groups.remove,
    metersToAdd: meters.add, metersToModify: meters.modify, metersToDelete: meters.remove,
  };
}

function diffById<T>(desired: T[], installed: T[], id: (x: T) => number, same: (a: T, b: T) => boolean, own?: ReadonlySet<number>) {
  const have = new Map(installed.map((x) => [id(x), x]));
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
  msgs.push(...flowAdds(d.flowsToAdd));
  msgs.push(...flowDeletes(d.flowsToDelete));
  for (const g of d.groupsToDelete) msgs.push(groupMod('DELETE', g));
  for (const m of d.metersToDelete) msgs.push(meterMod('DELETE', m));
  return msgs;
}

export function flowAdds(flows: FlowSpec[]): Message[] {
  return flows.map((f) => ({
    type: 'FLOW_MOD', xid: 0, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, command: 'ADD',
    idleTimeout: 0, hardTimeout: 0, priority: f.priority, bufferId: 0xffffffff, outPort: Port.ANY,
    outGroup: Group.ANY, flags: 0, match: f.match, instructions: f.instructions,
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

