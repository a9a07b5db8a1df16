/**
 * What changes between two resolved topologies: nodes, links, containers and top-level
 * attributes added, removed or changed. Pure; a reload of a running controller logs it,
 * returns it and applies it. Links are identified by their two end nodes (order-free), so
 * reordering `links` in the file changes nothing.
 */
import type { ResolvedLink, ResolvedTopology } from './types.js';

export interface FieldChange {
  name: string;
  /** The fields that differ, e.g. `region`, `bridge.dpid`, `vni`. */
  fields: string[];
}

export interface TopologyDiff {
  nodes: { added: string[]; removed: string[]; changed: FieldChange[] };
  /** Links as `a~b` (the two node names, sorted). */
  links: { added: string[]; removed: string[]; changed: FieldChange[] };
  containers: { added: string[]; removed: string[]; changed: FieldChange[] };
  /** Top-level fields that differ: `name`, `controller`, `overlay`. */
  attributes: string[];
  /** True when nothing differs. */
  empty: boolean;
}

export function linkKey(link: Pick<ResolvedLink, 'a' | 'b'>): string {
  const [x, y] = [link.a.node, link.b.node].sort();
  return `${x}~${y}`;
}

/** The fields of `a` and `b` (flattened with dots) whose values differ, ignoring `skip`. */
function changedFields(a: unknown, b: unknown, prefix = '', skip: ReadonlySet<string> = new Set()): string[] {
  if (a === b) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(a) || !isObj(b)) return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '.'];
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (skip.has(path)) continue;
    out.push(...changedFields(a[key], b[key], path, skip));
  }
  return out;
}

function keyedDiff<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>, fields: (a: T, b: T) => string[]) {
  const added = [...after.keys()].filter((k) => !before.has(k));
  const removed = [...before.keys()].filter((k) => !after.has(k));
  const changed: FieldChange[] = [];
  for (const [k, b] of after) {
    const a = before.get(k);
    if (a === undefined) continue;
    const f = fields(a, b);
    if (f.length > 0) changed.push({ name: k, fields: f });
  }
  return { added, removed, changed };
}

// A node's port list follows from its links and containers, reported there; `index` and `link`
// are positions in the file, not properties.
const NODE_SKIP = new Set(['bridge.ports', 'switches', 'hosts', 'uplink.link']);
const LINK_SKIP = new Set(['index']);

export function diffTopologies(before: ResolvedTopology, after: ResolvedTopology): TopologyDiff {
  const nodes = keyedDiff(new Map(Object.entries(before.nodes)), new Map(Object.entries(after.nodes)), (a, b) => changedFields(a, b, '', NODE_SKIP));
  const byKey = (t: ResolvedTopology) => new Map(t.links.map((l) => [linkKey(l), l] as const));
  // Compare a link as seen from its sorted ends, so that writing it the other way round is no change.
  const oriented = (l: ResolvedLink) => (l.a.node <= l.b.node ? { ...l, ends: [l.a, l.b] } : { ...l, ends: [l.b, l.a] });
  const links = keyedDiff(byKey(before), byKey(after), (a, b) => {
    const [x, y] = [oriented(a), oriented(b)];
    return changedFields({ kind: x.kind, vni: x.vni, ends: x.ends, overlayIp: x.overlayIp }, { kind: y.kind, vni: y.vni, ends: y.ends, overlayIp: y.overlayIp }, '', LINK_SKIP);
  });
  const containers = keyedDiff(new Map(Object.entries(before.containers)), new Map(Object.entries(after.containers)), (a, b) => changedFields(a, b));
  const attributes = (['name', 'controller', 'overlay'] as const).filter((k) => changedFields(before[k], after[k]).length > 0);
  const empty = [nodes, links, containers].every((d) => d.added.length + d.removed.length + d.changed.length === 0) && attributes.length === 0;
  return { nodes, links, containers, attributes, empty };
}

/** One line per change, for logs and the CLI. */
export function formatTopologyDiff(d: TopologyDiff): string[] {
  if (d.empty) return ['no change'];
  const out: string[] = [];
  for (const [what, part] of [['node', d.nodes], ['link', d.links], ['container', d.containers]] as const) {
    for (const n of part.added) out.push(`+ ${what} ${n}`);
    for (const n of part.removed) out.push(`- ${what} ${n}`);
    for (const c of part.changed) out.push(`~ ${what} ${c.name}: ${c.fields.join(', ')}`);
  }
  for (const a of d.attributes) out.push(`~ ${a}`);
  return out;
}
