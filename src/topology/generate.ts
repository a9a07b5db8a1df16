/**
 * Generated topologies for scale benchmarks and tests: a pure function of its options (no
 * randomness, no I/O), so that a size is the same network on every run.
 *
 * Shapes (every node runs one bridge; `bridges` counts switches and hosts together):
 * - `tree`: a CORE switch, region switches under it, edge switches under each region, hosts
 *   under the edge switches. No cycles.
 * - `ring`: as `tree` without the core: the region switches form a ring, and every edge switch
 *   is also linked to the next region's switch (dual-homed). Cycles at both levels.
 * Containers are spread round-robin over the hosts.
 */
import type { TopologyFileInput } from './schema.js';

export type GeneratedShape = 'tree' | 'ring';

export interface GenerateOptions {
  shape: GeneratedShape;
  /** Total bridges (switches + hosts), at least 6. */
  bridges: number;
  containers: number;
  /** Hosts under each edge switch (default 3). */
  hostsPerEdge?: number;
  name?: string;
}

/** Room for 2^20 addresses: 100k containers plus the hosts' overlay addresses. */
const OVERLAY_SUBNET = '10.0.0.0/12';
const OVERLAY_BASE = 10 * 2 ** 24;

export function generateTopology(options: GenerateOptions): TopologyFileInput {
  const { shape, bridges, containers } = options;
  const hostsPerEdge = options.hostsPerEdge ?? 3;
  if (!Number.isInteger(bridges) || bridges < 6) throw new RangeError(`bridges: expected an integer of at least 6, got ${bridges}`);
  if (!Number.isInteger(containers) || containers < 0) throw new RangeError(`containers: expected a non-negative integer, got ${containers}`);
  if (!Number.isInteger(hostsPerEdge) || hostsPerEdge < 1) throw new RangeError(`hostsPerEdge: expected a positive integer, got ${hostsPerEdge}`);
  if (containers + bridges >= 2 ** 20 - 2) throw new RangeError(`containers: ${containers} do not fit the overlay subnet ${OVERLAY_SUBNET}`);
  if (shape !== 'tree' && shape !== 'ring') throw new RangeError(`shape: expected "tree" or "ring", got ${String(shape)}`);

  const core = shape === 'tree' ? 1 : 0;
  // Regions grow as the square root of the size so that both levels of the tree widen.
  const regions = Math.max(shape === 'ring' ? 3 : 2, Math.round(Math.sqrt(bridges / (2 * (1 + hostsPerEdge)))));
  const edges = Math.max(regions, Math.floor((bridges - core - regions) / (1 + hostsPerEdge)));
  const hosts = bridges - core - regions - edges;
  if (hosts < edges) throw new RangeError(`bridges: ${bridges} is too few for a ${shape} of ${regions} regions`);

  const nodes: TopologyFileInput['nodes'] = {};
  const links: NonNullable<TopologyFileInput['links']> = [];
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
  const containerSpecs: NonNullable<TopologyFileInput['containers']> = {};
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

/** 02:cc:cc:cc:cc:cc, a locally administered unicast MAC from the container's index. */
export function containerMac(index: number): string {
  const hex = (index + 1).toString(16).padStart(10, '0');
  return `02:${hex.match(/../g)!.join(':')}`;
}

function ipText(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
