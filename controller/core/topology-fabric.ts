/**
 * From the resolved topology and what the switches report about their ports, the Fabric the
 * forwarding function works on. Node names name the bridges: one bridge per node.
 */
import type { ResolvedTopology } from '../../src/topology/types.js';
import type { PortDesc } from '../../src/openflow/types/index.js';

/** What the fabric reads of a reported port (a PortDesc has more). */
export type ReportedPort = Pick<PortDesc, 'portNo' | 'name' | 'config' | 'state'>;
import { Port } from '../../src/openflow/constants.js';
import type { Fabric, FabricBridge } from './fabric.js';
import { defaultTunnelPortName } from '../../src/topology/derive.js';

const OFPPC_PORT_DOWN = 1;
const OFPPS_LINK_DOWN = 1;

/**
 * @param reportedPorts per node, the ports its switch reports (absent: switch not connected,
 *   in which case its planned ports are assumed present and up, so that a switch that is
 *   briefly away does not make the others reroute).
 * @param extraEdgePorts per node, edge ports known from the location table (containers that
 *   moved in, learned MACs).
 * @param only the nodes whose bridges to build, in that order (absent: all, in the topology's).
 */
export function fabricFromTopology(
  topology: ResolvedTopology,
  reportedPorts: ReadonlyMap<string, ReadonlyMap<number, ReportedPort>>,
  extraEdgePorts: ReadonlyMap<string, Iterable<number>> = new Map(),
  only?: ReadonlySet<string>,
): Fabric {
  const bridges = new Map<string, FabricBridge>();
  const tunnelLike = tunnelNamesOf(topology);
  const nodes = only === undefined ? Object.values(topology.nodes) : [...only].flatMap((name) => topology.nodes[name] ?? []);
  for (const node of nodes) {
    const reported = reportedPorts.get(node.name);
    const byName = reported === undefined ? undefined : portsByName(reported);
    // Ports are known by name: the number is whatever the switch reports for that name (OVS
    // may grant another than the plan's ofport_request, an adopted overlay has its own).
    const tunnels = node.bridge.ports.filter((p) => p.kind === 'tunnel').map((p) => {
      if (byName === undefined) return { ofport: p.ofport, peer: p.peer, up: true };
      const seen = byName.get(p.name);
      return { ofport: seen?.portNo ?? p.ofport, peer: p.peer, up: isUp(seen) };
    });
    const tunnelNames = new Set(node.bridge.ports.filter((p) => p.kind === 'tunnel').map((p) => p.name));
    const edge = new Set<number>();
    for (const p of node.bridge.ports) {
      if (p.kind === 'tunnel') continue;
      if (byName === undefined) edge.add(p.ofport);
      else {
        const seen = byName.get(p.name);
        if (seen !== undefined && seen.portNo <= Port.MAX) edge.add(seen.portNo);
      }
    }
    // A port the topology does not list is a container's, except one named as vino names a
    // tunnel to a node of the overlay: a link just added (seen before the topology switched) or
    // just removed (not yet deprovisioned). As an edge port it would join the flood group and
    // close a broadcast loop over the tree of the new tunnels.
    for (const p of reported?.values() ?? []) {
      if (!tunnelNames.has(p.name) && !tunnelLike.has(p.name) && p.portNo <= Port.MAX && isUp(p)) edge.add(p.portNo);
    }
    for (const p of extraEdgePorts.get(node.name) ?? []) edge.add(p);
    bridges.set(node.name, {
      name: node.name,
      dpid: BigInt(`0x${node.bridge.dpid}`),
      tunnels,
      edgePorts: [...edge].sort((a, b) => a - b),
    });
  }
  return { bridges };
}

/** Every port name vino would give a tunnel to a node of `topology`: built once per topology (a sync may build one bridge). */
const tunnelNamesByTopology = new WeakMap<ResolvedTopology, ReadonlySet<string>>();
function tunnelNamesOf(topology: ResolvedTopology): ReadonlySet<string> {
  let names = tunnelNamesByTopology.get(topology);
  if (!names) tunnelNamesByTopology.set(topology, (names = new Set(Object.keys(topology.nodes).map(defaultTunnelPortName))));
  return names;
}

/**
 * `fabric` with the bridges of `nodes` built afresh from their reported and located ports (a
 * bridge depends on its own alone), every other bridge kept, in the same order: a move changes
 * the edge ports of its two ends only, and a thousand bridges' ports need not be read again.
 */
export function refreshBridges(
  fabric: Fabric,
  topology: ResolvedTopology,
  reportedPorts: ReadonlyMap<string, ReadonlyMap<number, ReportedPort>>,
  extraEdgePorts: ReadonlyMap<string, Iterable<number>>,
  nodes: Iterable<string>,
): Fabric {
  const fresh = fabricFromTopology(topology, reportedPorts, extraEdgePorts, new Set(nodes));
  const bridges = new Map(fabric.bridges);
  for (const [name, b] of fresh.bridges) bridges.set(name, b);
  return { bridges };
}

/** A switch's ports by name (names are unique per bridge in OVS). */
export function portsByName<P extends ReportedPort>(ports: ReadonlyMap<number, P>): Map<string, P> {
  const out = new Map<string, P>();
  for (const p of ports.values()) out.set(p.name, p);
  return out;
}

/** The number a switch reports for a port name, else undefined. */
export function reportedOfport(ports: ReadonlyMap<number, ReportedPort> | undefined, name: string): number | undefined {
  for (const p of ports?.values() ?? []) if (p.name === name) return p.portNo;
  return undefined;
}

function isUp(p: ReportedPort | undefined): boolean {
  return p !== undefined && (p.config & OFPPC_PORT_DOWN) === 0 && (p.state & OFPPS_LINK_DOWN) === 0;
}
