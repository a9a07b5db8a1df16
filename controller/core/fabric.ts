/**
 * The forwarding view of the overlay: every bridge (switches' and hosts' alike: each is a
 * VXLAN tunnel end point) and the tunnels between them. Built from the resolved topology plus
 * the port states the switches report; pure data, no I/O.
 */

export interface FabricTunnel {
  /** OpenFlow port number of the VXLAN port on this bridge. */
  ofport: number;
  /** Bridge at the other end. */
  peer: string;
  /** False when the port is reported down (or missing): paths avoid it. */
  up: boolean;
}

export interface FabricBridge {
  name: string;
  dpid: bigint;
  tunnels: FabricTunnel[];
  /**
   * Non-tunnel ports that lead to end hosts (container veths, the bridge's internal port):
   * they receive flooded broadcasts. LOCAL is never listed.
   */
  edgePorts: number[];
}

export interface Fabric {
  bridges: ReadonlyMap<string, FabricBridge>;
}

/** Where a MAC lives: a bridge and the edge port on it. */
export interface Attachment {
  bridge: string;
  ofport: number;
}

export interface Endpoint {
  /** Container (or host interface) name, for cookies, logs and the API. */
  name: string;
  mac: string;
  /** IPv4 address answered by proxy ARP; absent when unknown. */
  ip?: string;
  at: Attachment;
}

/**
 * Shortest-path next hops towards each bridge, over tunnels that are up. Ties are broken by
 * peer name so that the result does not depend on input order (stable flow tables).
 * `nextHop.get(from).get(to)` is the tunnel port on `from` to use; undefined when `from === to`
 * or `to` is unreachable.
 */
export class Paths {
  private readonly next = new Map<string, Map<string, number>>();
  private readonly dist = new Map<string, Map<string, number>>();

  constructor(readonly fabric: Fabric) {
    // Who points at each bridge, once: every BFS below visits every bridge (1,000 BFS of 1,000
    // bridges each, which rebuilt and sorted these lists a million times, took seconds).
    const reverse = new Map<string, { bridge: string; tunnel: FabricTunnel }[]>();
    for (const name of fabric.bridges.keys()) reverse.set(name, reverseTunnels(fabric, name));
    for (const target of sortedNames(fabric)) this.computeTreeTowards(target, reverse);
  }

  /** Tunnel port on `from` that leads towards `to` (undefined if same bridge or unreachable). */
  nextHop(from: string, to: string): number | undefined {
    return this.next.get(to)?.get(from);
  }

  distance(from: string, to: string): number | undefined {
    return this.dist.get(to)?.get(from);
  }

  /** Hop counts to `to` from every bridge that reaches it (`to` itself at 0). */
  distancesTo(to: string): ReadonlyMap<string, number> {
    return this.dist.get(to) ?? new Map();
  }

  reachable(from: string, to: string): boolean {
    return this.distance(from, to) !== undefined;
  }

  /** BFS from the target outwards; each bridge's next hop is the neighbour it was reached from. */
  private computeTreeTowards(target: string, reverse: ReadonlyMap<string, { bridge: string; tunnel: FabricTunnel }[]>): void {
    const next = new Map<string, number>();
    const dist = new Map<string, number>([[target, 0]]);
    let frontier = [target];
    while (frontier.length > 0) {
      const following: string[] = [];
      for (const name of frontier) {
        const d = dist.get(name)!;
        for (const { bridge, tunnel } of reverse.get(name) ?? []) {
          if (dist.has(bridge)) continue;
          dist.set(bridge, d + 1);
          next.set(bridge, tunnel.ofport);
          following.push(bridge);
        }
      }
      frontier = following.sort();
    }
    this.next.set(target, next);
    this.dist.set(target, dist);
  }
}

/** Tunnels of other bridges that point at `name` and are up at both ends, by bridge name. */
function reverseTunnels(fabric: Fabric, name: string): { bridge: string; tunnel: FabricTunnel }[] {
  const self = fabric.bridges.get(name);
  const out: { bridge: string; tunnel: FabricTunnel }[] = [];
  for (const back of self?.tunnels ?? []) {
    if (!back.up) continue;
    const peer = fabric.bridges.get(back.peer);
    const tunnel = peer?.tunnels.find((t) => t.peer === name && t.up);
    if (tunnel) out.push({ bridge: back.peer, tunnel });
  }
  return out.sort((a, b) => (a.bridge < b.bridge ? -1 : a.bridge > b.bridge ? 1 : 0));
}

export function sortedNames(fabric: Fabric): string[] {
  return [...fabric.bridges.keys()].sort();
}

/**
 * The flooding tree: a BFS spanning tree of each connected component, rooted at its
 * smallest-named bridge. Returns, per bridge, the tunnel ports that belong to the tree:
 * flooding only over these cannot loop even when the graph has cycles.
 */
export function spanningTreePorts(fabric: Fabric): Map<string, number[]> {
  const ports = new Map<string, number[]>();
  for (const name of fabric.bridges.keys()) ports.set(name, []);
  const seen = new Set<string>();
  for (const root of sortedNames(fabric)) {
    if (seen.has(root)) continue;
    seen.add(root);
    let frontier = [root];
    while (frontier.length > 0) {
      const following: string[] = [];
      for (const name of frontier) {
        for (const { bridge, tunnel } of reverseTunnels(fabric, name)) {
          if (seen.has(bridge)) continue;
          seen.add(bridge);
          ports.get(bridge)!.push(tunnel.ofport);
          const back = fabric.bridges.get(name)!.tunnels.find((t) => t.peer === bridge && t.up)!;
          ports.get(name)!.push(back.ofport);
          following.push(bridge);
        }
      }
      frontier = following.sort();
    }
  }
  for (const list of ports.values()) list.sort((a, b) => a - b);
  return ports;
}
