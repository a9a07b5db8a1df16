/**
 * A topology generator for benchmarks and tests: regions of switches joined as a binary tree
 * (region i's first switch links to the first switch of region ⌊(i-1)/2⌋), the switches of a
 * region in a chain, and in every region a few hosts with one container each. Pure: returns the
 * topology document (the file format), which `resolveTopology` checks like any file.
 */

export interface GenerateOptions {
  /** Topology name. */
  name: string;
  /** Switches in all (≥ 1). */
  switches: number;
  /** Switches per region (≥ 1); the last region may be smaller. */
  regionSize: number;
  /** Hosts per region, attached to its switches in turn (each with one container). */
  hostsPerRegion: number;
}

export interface TopologyDocument {
  name: string;
  overlay_subnet: string;
  nodes: Record<string, { kind: 'switch' | 'host'; region: string }>;
  links: ({ switch: string; peer: string } | { switch: string; host: string; overlay_ip: string })[];
  containers: Record<string, { mac: string; ip: string; host: string }>;
}

export function generateTopology(o: GenerateOptions): TopologyDocument {
  for (const [k, v, min] of [['switches', o.switches, 1], ['regionSize', o.regionSize, 1], ['hostsPerRegion', o.hostsPerRegion, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`generateTopology: ${k} must be a whole number ≥ ${min}, got ${v}`);
  }
  // 10.0.0.0/8 holds two addresses for each of millions of hosts.
  const doc: TopologyDocument = { name: o.name, overlay_subnet: '10.0.0.0/8', nodes: {}, links: [], containers: {} };
  const regions = Math.ceil(o.switches / o.regionSize);
  let hostIndex = 0;
  for (let r = 0; r < regions; r++) addRegion(doc, r, Math.min(o.regionSize, o.switches - r * o.regionSize), o.hostsPerRegion, () => hostIndex++);
  return doc;
}

/**
 * Adds region `r` (switch names `s<r>-<i>`, hosts `h<r>-<j>`, containers `c<r>-<j>`) joined to
 * the tree as in `generateTopology`; usable to grow a generated document by one region.
 */
export function addRegion(doc: TopologyDocument, r: number, switches: number, hosts: number, nextHost: () => number = counter(doc)): void {
  const region = `R${r}`;
  const sw = (i: number) => `s${r}-${i}`;
  for (let i = 0; i < switches; i++) {
    doc.nodes[sw(i)] = { kind: 'switch', region };
    if (i > 0) doc.links.push({ switch: sw(i - 1), peer: sw(i) });
  }
  if (r > 0) doc.links.push({ switch: `s${Math.floor((r - 1) / 2)}-0`, peer: sw(0) });
  for (let j = 0; j < hosts; j++) {
    const n = nextHost();
    const host = `h${r}-${j}`;
    doc.nodes[host] = { kind: 'host', region };
    // Two addresses per host: its link's overlay address, its container's.
    doc.links.push({ switch: sw(j % switches), host, overlay_ip: ipv4(10 << 24, 2 * n + 2) });
    doc.containers[`c${r}-${j}`] = { mac: mac(n), ip: ipv4(10 << 24, 2 * n + 3), host };
  }
}

function counter(doc: TopologyDocument): () => number {
  let n = Object.keys(doc.containers).length;
  return () => n++;
}

function ipv4(base: number, offset: number): string {
  const v = (base + offset) >>> 0;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 0xff).join('.');
}

/** A locally administered unicast MAC from a number. */
function mac(n: number): string {
  const bytes = [0x02, 0x56, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
