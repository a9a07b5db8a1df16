/**
 * Desired switch state as plain data: flows, groups and meters, each identified so that the
 * desired and the installed tables can be diffed. Independent of any connection.
 */
import type { Instruction, Match, MeterBand, Bucket } from '../../src/openflow/types/index.js';

export interface FlowSpec {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  /** Identifies the rule that produced the flow (see cookies.ts). */
  cookie: bigint;
  /** Seconds without a matching frame after which the switch removes the flow (absent: never). */
  idleTimeout?: number;
  /** Ask for FLOW_REMOVED when the switch removes it (the controller keeps its demand set in step). */
  notifyRemoval?: boolean;
}

export interface GroupSpec {
  groupId: number;
  groupType: 'ALL' | 'SELECT' | 'INDIRECT' | 'FF';
  buckets: Bucket[];
}

export interface MeterSpec {
  meterId: number;
  /** OFPMF_* flags. */
  flags: number;
  bands: MeterBand[];
}

export interface SwitchState {
  flows: FlowSpec[];
  groups: GroupSpec[];
  meters: MeterSpec[];
}

/**
 * macOf of each flow of a list, by index, where the computation knew it (DesiredStateBuilder: the
 * endpoint each flow is made for): a diff then need not look through every match (a million
 * flows at a restart). Kept beside the list itself, not in the state: a state made from it with
 * other flows (filtered, say) has another list, and a list changed since has another length;
 * either way the diff finds the MACs itself.
 */
const knownMacs = new WeakMap<readonly FlowSpec[], readonly (string | undefined)[]>();

export function noteFlowMacs(flows: readonly FlowSpec[], macs: readonly (string | undefined)[]): void {
  if (macs.length === flows.length) knownMacs.set(flows, macs);
}

/** What noteFlowMacs noted of `flows`, if it still has as many flows. */
export function flowMacsOf(flows: readonly FlowSpec[]): readonly (string | undefined)[] | undefined {
  const macs = knownMacs.get(flows);
  return macs !== undefined && macs.length === flows.length ? macs : undefined;
}

/**
 * A flow's identity inside one switch: OpenFlow itself identifies a flow by table, priority
 * and match (a second ADD with the same triple replaces the first). Field order is not part
 * of it: switches may report fields in another order than we sent them.
 */
export function flowKey(flow: { tableId: number; priority: number; match: Match }): string {
  const memo = flowKeys.get(flow.match);
  if (memo !== undefined && keyIsFor(memo, flow.tableId, flow.priority)) return memo;
  // join builds one flat string; a template literal leaves a tree of cons strings (several
  // times the size), and these keys live as long as the flows.
  const key = [flow.tableId, flow.priority, matchKey(flow.match)].join('/');
  flowKeys.set(flow.match, key);
  return key;
}

// Keys are computed once per match object: flows and their matches are immutable once built,
// and the forwarding code shares one match among a rule's flows on every bridge (and its cache
// hands out the same flows again), so most of a diff is map lookups with one string per key.
// The memo is the key itself (no record around it: one per flow at 100k containers); a match
// used in another table or priority than its memo's is recognised by the key's prefix.
const flowKeys = new WeakMap<Match, string>();
const valueKeys = new WeakMap<object, string>();

/** Whether `key` starts with "tableId/priority/". */
function keyIsFor(key: string, tableId: number, priority: number): boolean {
  const id = tableId * 0x10000 + priority;
  let prefix = prefixes.get(id);
  if (prefix === undefined) prefixes.set(id, (prefix = `${tableId}/${priority}/`));
  return key.startsWith(prefix);
}

// Tables are 0..255 and priorities 0..65535: at most a few dozen pairs in use.
const prefixes = new Map<number, string>();

export function matchKey(match: Match): string {
  const parts = match.fields.map((f) => {
    if (f.field === 'opaque') return `opaque:${f.oxmClass}:${f.oxmField}:${f.data.toString('hex')}`;
    const value = normalizeValue(f.value);
    return f.mask === undefined ? `${f.field}=${value}` : `${f.field}=${value}/${normalizeValue(f.mask)}`;
  });
  return parts.sort().join(',');
}

function normalizeValue(v: number | bigint | string): string {
  return typeof v === 'string' ? v.toLowerCase() : v.toString();
}

/**
 * Canonical text of a value (instructions, buckets, bands): equal text = no need to modify what
 * is installed. Object keys are sorted: a decoder may build objects in another key order.
 */
export function canonicalKey(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/**
 * Whether two instruction lists have the same canonicalKey, compared in place: a restart diffs
 * a million flows read back (new objects each) against the desired ones, and building both keys
 * was half of it.
 */
export function sameInstructions(a: Instruction[], b: Instruction[]): boolean {
  return a === b || sameData(a, b);
}

/**
 * The MAC a flow is about, lower-case: the value of an unmasked eth_dst, else of an unmasked
 * eth_src, in its match; undefined for a flow of no one MAC (kept in the switch's own map).
 */
export function macOf(flow: { match: Match }): string | undefined {
  let mac: string | undefined;
  for (const f of flow.match.fields) {
    if (f.field !== 'eth_dst' && f.field !== 'eth_src') continue;
    if (f.mask !== undefined || typeof f.value !== 'string') continue;
    if (f.field === 'eth_dst' || mac === undefined) mac = f.value;
  }
  return mac === undefined ? undefined : lowerMac(mac);
}

/** `mac` in lower case, itself when it is already (ours are): no string made per lookup. */
export function lowerMac(mac: string): string {
  for (let i = 0; i < mac.length; i++) {
    const c = mac.charCodeAt(i);
    if (c >= 65 && c <= 90) return mac.toLowerCase();
  }
  return mac;
}

/**
 * Equal as their canonicalKey texts would be (keys in any order, an undefined value as absent),
 * without building the texts: a flood group has a bucket per port, and the text of a hundred
 * buckets took most of a move's plan.
 */
export function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const k in x) if (x[k] !== undefined && !sameData(x[k], y[k])) return false;
  for (const k in y) if (y[k] !== undefined && x[k] === undefined) return false;
  return true;
}

export function instructionsKey(instructions: Instruction[]): string {
  let key = valueKeys.get(instructions);
  if (key === undefined) {
    key = canonicalKey(instructions);
    valueKeys.set(instructions, key);
  }
  return key;
}
