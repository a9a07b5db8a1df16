/**
 * Generated topologies for benchmarks and tests: a pure function of its options (no randomness,
 * no I/O), so that a size is the same network on every run. Returns the topology document (the
 * file format), which `resolveTopology` checks like any file.
 *
 * Shapes (every node runs one bridge):
 * - `tree` (sized by `bridges`, switches and hosts together): a CORE switch, region switches
 *   under it, edge switches under each region, hosts under the edge switches. No cycles.
 * - `ring` (sized by `bridges`): as `tree` without the core: the region switches form a ring,
 *   and every edge switch is also linked to the next region's switch (dual-homed). Cycles at
 *   both levels. In both, containers are spread round-robin over the hosts.
 * - `regions` (sized by `switches`): regions of `regionSize` switches in a chain, the regions
 *   joined as a binary tree (region r's first switch links to the first switch of region
 *   ⌊(r-1)/2⌋), and in every region `hostsPerRegion` hosts with one container each. A document
 *   of this shape grows by a region with `addRegion` (what the reload benchmark applies).
 */
import type { TopologyFileInput } from './schema.js';

/** The shapes sized by their number of bridges. */
export type GeneratedShape = 'tree' | 'ring';
export type TopologyShape = GeneratedShape | 'regions';

export interface SizedOptions {
  shape: GeneratedShape;
  /** Total bridges (switches + hosts), at least 6. */
  bridges: number;
  containers: number;
  /** Hosts under each edge switch (default 3). */
  hostsPerEdge?: number;
  name?: string;
}

export interface RegionsOptions {
  shape: 'regions';
  /** Switches in all (≥ 1). */
  switches: number;
  /** Switches per region (≥ 1); the last region may be smaller. */
  regionSize: number;
  /** Hosts per region, attached to its switches in turn, each with one container (≥ 0). */
  hostsPerRegion: number;
  name?: string;
}

export type GenerateOptions = SizedOptions | RegionsOptions;

/** The document every shape produces; nodes, links and containers always present. */
export type TopologyDocument = TopologyFileInput & {
  nodes: NonNullable<TopologyFileInput['nodes']>;
  links: NonNullable<TopologyFileInput['links']>;
  containers: NonNullable<TopologyFileInput['containers']>;
};

/** Room for 2^20 addresses: 100k containers plus the hosts' overlay addresses. */
const OVERLAY_SUBNET = '10.0.0.0/12';
const OVERLAY_BASE = 10 * 2 ** 24;
const OVERLAY_SIZE = 2 ** 20;

export function generateTopology(options: GenerateOptions): TopologyDocument {
  if (options.shape === 'regions') return generateRegions(options);
  const { shape, bridges, containers } = options;
  const hostsPerEdge = options.hostsPerEdge ?? 3;
  if (!Number.isInteger(bridges) || bridges < 6) throw new RangeError(`bridges: expected an integer of at least 6, got ${bridges}`);
  if (!Number.isInteger(containers) || containers < 0) throw new RangeError(`containers: expected a non-negative integer, got ${containers}`);
  if (!Number.isInteger(hostsPerEdge) || hostsPerEdge < 1) throw new RangeError(`hostsPerEdge: expected a positive integer, got ${hostsPerEdge}`);
  if (containers + bridges >= OVERLAY_SIZE - 2) throw new RangeError(`containers: ${containers} do not fit the overlay subnet ${OVERLAY_SUBNET}`);
  if (shape !== 'tree' && shape !== 'ring') throw new RangeError(`shape: expected "tree", "ring" or "regions", got ${String(shape)}`);

  const core = shape === 'tree' ? 1 : 0;
  // Regions grow as the square root of the size so that both levels of the tree widen.
  const regions = Math.max(shape === 'ring' ? 3 : 2, Math.round(Math.sqrt(bridges / (2 * (1 + hostsPerEdge)))));
  const edges = Math.max(regions, Math.floor((bridges - core - regions) / (1 + hostsPerEdge)));
  const hosts = bridges - core - regions - edges;
  if (hosts < edges) throw new RangeError(`bridges: ${bridges} is too few for a ${shape} of ${regions} regions`);

  const nodes: TopologyDocument['nodes'] = {};
  const links: TopologyDocument['links'] = [];
  const regionName = (r: number) => `R${r + 1}`;
  const regionSwitch = (r: number) => `r${r + 1}`;
  if (core) nodes['core'] = { kind: 'switch', region: 'CORE' };
  for (let r = 0; r < regions; r++) {
    nodes[regionSwitch(r)] = { kind: 'switch', region: regionName(r) };
    if (core) links.push({ switch: 'core', peer: regionSwitch(r) });
  }
  if (shape === 'ring') for (let r = 0; r < regions; r++) links.push({ switch: regionSwitch(r), peer: regionSwitch((r + 1) % regions) });
  for (let e = 0; e < edges; e++) {
    const r = e % regions;
    nodes[`e${e + 1}`] = { kind: 'switch', region: regionName(r) };
    links.push({ switch: regionSwitch(r), peer: `e${e + 1}` });
    if (shape === 'ring') links.push({ switch: regionSwitch((r + 1) % regions), peer: `e${e + 1}` });
  }
  let address = 1;
  const nextIp = () => ipText(OVERLAY_BASE + address++);
  const hostNames: string[] = [];
  for (let h = 0; h < hosts; h++) {
    const e = h % edges;
    const name = `h${h + 1}`;
    nodes[name] = { kind: 'host', region: regionName(e % regions) };
    links.push({ switch: `e${e + 1}`, host: name, overlay_ip: nextIp() });
    hostNames.push(name);
  }
  const containerSpecs: TopologyDocument['containers'] = {};
  for (let c = 0; c < containers; c++) {
    containerSpecs[`c${c + 1}`] = { mac: containerMac(c), ip: nextIp(), host: hostNames[c % hostNames.length]! };
  }
  return {
    name: options.name ?? `${shape}-${bridges}-${containers}`,
    description: `Generated ${shape}: ${core} core, ${regions} region and ${edges} edge switches, ${hosts} hosts, ${containers} containers.`,
    overlay_subnet: OVERLAY_SUBNET,
    nodes,
    links,
    containers: containerSpecs,
  };
}

function generateRegions(o: RegionsOptions): TopologyDocument {
  for (const [k, v, min] of [['switches', o.switches, 1], ['regionSize', o.regionSize, 1], ['hostsPerRegion', o.hostsPerRegion, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${k}: expected an integer of at least ${min}, got ${v}`);
  }
  const regions = Math.ceil(o.switches / o.regionSize);
  // Two addresses per host (its link's, its container's).
  if (2 * regions * o.hostsPerRegion >= OVERLAY_SIZE - 2) throw new RangeError(`hostsPerRegion: ${regions * o.hostsPerRegion} hosts do not fit the overlay subnet ${OVERLAY_SUBNET}`);
  const doc: TopologyDocument = {
    name: o.name ?? `regions-${o.switches}-${o.regionSize}-${o.hostsPerRegion}`,
    description: `Generated regions: ${o.switches} switches in ${regions} regions of up to ${o.regionSize}, ${o.hostsPerRegion} hosts with one container each per region.`,
    overlay_subnet: OVERLAY_SUBNET, nodes: {}, links: [], containers: {},
  };
  for (let r = 0; r < regions; r++) addRegion(doc, r, Math.min(o.regionSize, o.switches - r * o.regionSize), o.hostsPerRegion);
  return doc;
}

/**
 * Adds region `r` to a document of the `regions` shape: switches `s<r>-<i>` in a chain, hosts
 * `h<r>-<j>` with containers `c<r>-<j>`, and the region joined to the binary tree of regions as
 * `generateTopology` joins it. Addresses continue after those of the document's containers.
 */
export function addRegion(doc: TopologyDocument, r: number, switches: number, hosts: number): void {
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`addRegion: region: expected a non-negative integer, got ${r}`);
  if (!Number.isInteger(switches) || switches < 1) throw new RangeError(`addRegion: switches: expected an integer of at least 1, got ${switches}`);
  if (!Number.isInteger(hosts) || hosts < 0) throw new RangeError(`addRegion: hosts: expected a non-negative integer, got ${hosts}`);
  const region = `R${r}`;
  const sw = (i: number) => `s${r}-${i}`;
  if (doc.nodes[sw(0)]) throw new RangeError(`addRegion: region ${r} is already in the document (node ${sw(0)})`);
  const parent = `s${Math.floor((r - 1) / 2)}-0`;
  if (r > 0 && !doc.nodes[parent]) throw new RangeError(`addRegion: region ${r} joins the tree at ${parent}, which the document does not have (not of the "regions" shape, or regions added out of order)`);
  let n = Object.keys(doc.containers).length;
  if (2 * (n + hosts) >= OVERLAY_SIZE - 2) throw new RangeError(`addRegion: ${n + hosts} hosts do not fit the overlay subnet ${OVERLAY_SUBNET}`);
  for (let i = 0; i < switches; i++) {
    doc.nodes[sw(i)] = { kind: 'switch', region };
    if (i > 0) doc.links.push({ switch: sw(i - 1), peer: sw(i) });
  }
  if (r > 0) doc.links.push({ switch: parent, peer: sw(0) });
  for (let j = 0; j < hosts; j++, n++) {
    const host = `h${r}-${j}`;
    doc.nodes[host] = { kind: 'host', region };
    doc.links.push({ switch: sw(j % switches), host, overlay_ip: ipText(OVERLAY_BASE + 2 * n + 2) });
    doc.containers[`c${r}-${j}`] = { mac: containerMac(n), ip: ipText(OVERLAY_BASE + 2 * n + 3), host };
  }
}

/** 02:cc:cc:cc:cc:cc, a locally administered unicast MAC from the container's index. */
export function containerMac(index: number): string {
  const hex = (index + 1).toString(16).padStart(10, '0');
  return `02:${hex.match(/../g)!.join(':')}`;
}

function ipText(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
