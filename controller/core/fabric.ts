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
 * `nextHop(from, to)` is the tunnel port on `from` to use; undefined when `from === to` or `to`
 * is unreachable.
 */
export class Paths {
  /** Bridges numbered in name order: a BFS taking them by number takes them by name. */
  private readonly index = new Map<string, number>();
  private readonly n: number;
  /**
   * All pairs in flat arrays, row `to`, column `from` (a million pairs at 1,000 bridges: Maps of
   * Maps took most of a second and ~100 MB): the next hop's port (NO_PORT: none), and the hop
   * count plus one (0: unreachable).
   */
  private readonly next: Uint32Array;
  private readonly dist: Uint16Array | Uint32Array;

  constructor(readonly fabric: Fabric) {
    const names = sortedNames(fabric);
    names.forEach((name, i) => this.index.set(name, i));
    const n = (this.n = names.length);
    this.next = new Uint32Array(n * n).fill(NO_PORT);
    this.dist = n < 0xffff ? new Uint16Array(n * n) : new Uint32Array(n * n);
    // Who points at each bridge (bridge number, its tunnel port), in name order, built once: every
    // BFS below visits every bridge.
    const reverse = names.map((name) => reverseTunnels(fabric, name).map(({ bridge, tunnel }) => [this.index.get(bridge)!, tunnel.ofport] as const));
    const frontier = new Uint32Array(n);
    const following = new Uint32Array(n);
    for (let target = 0; target < n; target++) this.computeTreeTowards(target, reverse, frontier, following);
  }

  /** Tunnel port on `from` that leads towards `to` (undefined if same bridge or unreachable). */
  nextHop(from: string, to: string): number | undefined {
    const f = this.index.get(from);
    const t = this.index.get(to);
    if (f === undefined || t === undefined) return undefined;
    const port = this.next[t * this.n + f]!;
    return port === NO_PORT ? undefined : port;
  }

  distance(from: string, to: string): number | undefined {
    const f = this.index.get(from);
    const t = this.index.get(to);
    if (f === undefined || t === undefined) return undefined;
    const d = this.dist[t * this.n + f]!;
    return d === 0 ? undefined : d - 1;
  }

  /** How many bridges reach `to` (itself included) and the most hops any of them takes. */
  reachOf(to: string): { reach: number; farthest: number } {
    const t = this.index.get(to);
    if (t === undefined) return { reach: 0, farthest: 0 };
    let reach = 0;
    let farthest = 0;
    const row = t * this.n;
    for (let f = 0; f < this.n; f++) {
      const d = this.dist[row + f]!;
      if (d === 0) continue;
      reach++;
      if (d - 1 > farthest) farthest = d - 1;
    }
    return { reach, farthest };
  }

  reachable(from: string, to: string): boolean {
    return this.distance(from, to) !== undefined;
  }

  /** BFS from the target outwards; each bridge's next hop is the neighbour it was reached from. */
  private computeTreeTowards(target: number, reverse: readonly (readonly (readonly [number, number])[])[], frontier: Uint32Array, following: Uint32Array): void {
    const row = target * this.n;
    const { next, dist } = this;
    dist[row + target] = 1;
    frontier[0] = target;
    let size = 1;
    while (size > 0) {
      let count = 0;
      for (let i = 0; i < size; i++) {
        const at = frontier[i]!;
        const d = dist[row + at]!;
        for (const [bridge, port] of reverse[at]!) {
          if (dist[row + bridge] !== 0) continue;
          dist[row + bridge] = d + 1;
          next[row + bridge] = port;
          following[count++] = bridge;
        }
      }
      // Numbers are in name order: the next level is taken by name, as ties are broken.
      following.subarray(0, count).sort();
      frontier.set(following.subarray(0, count));
      size = count;
    }
  }
}

/** No next hop (OFPP_ANY: never a tunnel's port). */
const NO_PORT = 0xffffffff;

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
