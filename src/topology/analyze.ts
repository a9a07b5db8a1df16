/**
 * Validation and resolution of a topology: schema (zod), then every check that needs the whole
 * file, then, when nothing is wrong, the resolved topology with every identifier decided.
 *
 * Problems are collected, never thrown one at a time: a file with a broken node still gets its
 * links and containers checked. Entries that failed the schema are left out of the semantic
 * checks (and references to them are not reported again), and checks that need the complete
 * picture (connectivity, hosts without a link) run only when nothing was left out.
 */
import { issuesToProblems } from './issues.js';
import {
  type Cidr,
  formatIpv4,
  hostAddressProblem,
  ovsTarget,
  parseCidr,
  parseHostPort,
  parseIpv4,
  parseMac,
  prefixMask,
} from './net.js';
import { formatPath, type PathSegment, type Problem } from './problems.js';
import {
  Container,
  DEFAULT_SSH_PORT,
  DEFAULT_SSH_USER,
  isHostLink,
  Link,
  Node,
  TopologyFileSchema,
  type ContainerSpec,
  type LinkSpec,
  type NodeSpec,
  type TopologyFile,
} from './schema.js';
import {
  defaultBridgeName,
  defaultContainerPortName,
  defaultInternalPortName,
  defaultTunnelPortName,
  DPID_SPACE,
  formatDpid,
  NumberPool,
  OFPORT_CONTAINER_MAX,
  OFPORT_CONTAINER_MIN,
  OFPORT_INTERNAL,
  OFPORT_TUNNEL_MAX,
  OFPORT_TUNNEL_MIN,
  parseDpid,
  preferredContainerOfport,
  preferredDpid,
  preferredTunnelOfport,
  preferredVni,
  VNI_DERIVED_MAX,
  VNI_DERIVED_MIN,
} from './derive.js';
import type {
  ContainerPortPlan,
  ControllerAddress,
  InternalPortPlan,
  LinkEnd,
  PortPlan,
  ResolvedContainer,
  ResolvedLink,
  ResolvedNode,
  ResolvedTopology,
  SwitchAdjacency,
  TunnelPortPlan,
} from './types.js';

export interface Analysis {
  /** Present exactly when `problems` is empty. */
  topology: ResolvedTopology | null;
  problems: Problem[];
}

/** The parts of a file that passed the schema. */
interface Model {
  name: string;
  description: string | null;
  controller: string | null;
  overlay: Cidr | null;
  nodes: Map<string, NodeSpec>;
  /** Nodes present in the file but refused by the schema: references to them are not reported. */
  brokenNodes: Set<string>;
  /** Index -> link; null where the schema refused the link. */
  links: (LinkSpec | null)[];
  /** Containers that passed the schema (nothing refers to containers, so the others are just left out). */
  containers: Map<string, ContainerSpec>;
  /** True when the whole file passed the schema. */
  complete: boolean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A set key for a path prefix; keeps 0 and "0" apart, as === does. */
function prefixKey(path: readonly PropertyKey[]): string {
  return JSON.stringify(path.map((seg) => (typeof seg === 'symbol' ? String(seg) : seg)));
}

function modelOf(file: TopologyFile, complete: boolean): Model {
  const overlay = parseCidr(file.overlay_subnet);
  return {
    name: file.name,
    description: file.description ?? null,
    controller: file.controller,
    overlay: overlay.ok ? overlay.value : null,
    nodes: new Map(Object.entries(file.nodes)),
    brokenNodes: new Set(),
    links: [...file.links],
    containers: new Map(Object.entries(file.containers)),
    complete,
  };
}

/** Schema pass. Returns the model of what passed (null if too little did) and the schema problems. */
function schemaPass(input: unknown): { model: Model | null; problems: Problem[] } {
  const full = TopologyFileSchema.safeParse(input);
  if (full.success) return { model: modelOf(full.data, true), problems: [] };

  const issues = full.error.issues;
  const problems = issuesToProblems(issues, input);
  if (!isPlainObject(input)) return { model: null, problems };

  const paths = issues.map((i) => i.path);
  // Every prefix (of length 1 and 2, the ones asked about) of every issue path, in a set: a
  // scan of all issues per entry would be quadratic in files with very many problems.
  const brokenPrefixes = new Set<string>();
  for (const p of paths) for (let k = 1; k <= Math.min(2, p.length); k++) brokenPrefixes.add(prefixKey(p.slice(0, k)));
  const broken = (prefix: PropertyKey[]) => brokenPrefixes.has(prefixKey(prefix));
  // Without a usable nodes object nothing else can be checked meaningfully.
  if (broken(['nodes']) && !isPlainObject(input['nodes'])) return { model: null, problems };
  if (paths.some((p) => p.length === 1 && (p[0] === 'links' || p[0] === 'containers'))) return { model: null, problems };

  const field = <T>(key: string, parse: (v: unknown) => T | null): T | null => (broken([key]) ? null : parse(input[key]));
  const shape = TopologyFileSchema.shape;
  const model: Model = {
    name: field('name', (v) => shape.name.parse(v)) ?? '',
    description: field('description', (v) => shape.description.parse(v) ?? null),
    controller: field('controller', (v) => shape.controller.parse(v)),
    overlay: field('overlay_subnet', (v) => {
      const r = parseCidr(shape.overlay_subnet.parse(v));
      return r.ok ? r.value : null;
    }),
    nodes: new Map(),
    brokenNodes: new Set(),
    links: [],
    containers: new Map(),
    complete: false,
  };
  for (const [name, raw] of Object.entries(input['nodes'] as Record<string, unknown>)) {
    if (broken(['nodes', name])) model.brokenNodes.add(name);
    else model.nodes.set(name, Node.parse(raw));
  }
  const links = Array.isArray(input['links']) ? input['links'] : [];
  links.forEach((raw, i) => model.links.push(broken(['links', i]) ? null : Link.parse(raw)));
  const containers = isPlainObject(input['containers']) ? input['containers'] : {};
  for (const [name, raw] of Object.entries(containers)) {
    if (!broken(['containers', name])) model.containers.set(name, Container.parse(raw));
  }
  return { model, problems };
}

interface PortClaim {
  /** What owns the name, for messages: `the tunnel port to "sw2" (links[3])`. */
  owner: string;
  /** Where to report a clash: the explicit name, or the entity whose default name it is. */
  path: readonly PathSegment[];
  /** Written in the file (as opposed to a default). */
  explicit: boolean;
}

/** Semantic checks. Also computes the names the resolver needs. */
class Checker {
  readonly problems: Problem[] = [];
  readonly bridgeOf = new Map<string, string>();
  /** node -> port name -> owner. */
  private readonly portNames = new Map<string, Map<string, PortClaim>>();
  private readonly overlayIps = new Map<number, string>();
  /** host -> index of its link. */
  readonly hostLink = new Map<string, number>();
  /** Links whose two ends are valid nodes of the right kinds and which are not refused. */
  readonly goodLinks = new Set<number>();
  /** False when something was left out and whole-graph checks would be guesses. */
  graphComplete: boolean;

  constructor(readonly m: Model) {
    this.graphComplete = m.complete;
  }

  report(path: readonly PathSegment[], message: string): void {
    this.problems.push({ path: formatPath(path), message });
  }

  run(): void {
    this.checkNodes();
    this.checkLinks();
    this.checkContainers();
    if (this.graphComplete) this.checkGraph();
  }

  /** An overlay (inside overlay_subnet) address, unique across links, internal ports and containers. */
  private overlayIp(path: readonly PathSegment[], text: string, owner: string): void {
    const ip = parseIpv4(text);
    if (!ip.ok) return; // the schema reported it
    if (this.m.overlay) {
      const why = hostAddressProblem(this.m.overlay, ip.value);
      if (why) this.report(path, why);
    }
    const prior = this.overlayIps.get(ip.value);
    if (prior) this.report(path, `overlay address ${text} is already used by ${prior}`);
    else this.overlayIps.set(ip.value, owner);
  }

  /**
   * Claims a port name on a node's bridge. A clash between a written name and a default one
   * is reported at the written one: that is the one the author can change.
   */
  private port(node: string, name: string, claim: PortClaim): void {
    const bridge = this.bridgeOf.get(node)!;
    if (name === bridge) {
      this.report(claim.path, `port name "${name}" is the name of bridge "${bridge}" itself (OVS gives it to the bridge's local port)`);
      return;
    }
    let names = this.portNames.get(node);
    if (!names) this.portNames.set(node, (names = new Map()));
    const prior = names.get(name);
    if (!prior) names.set(name, claim);
    else if (!claim.explicit && prior.explicit) {
      this.report(prior.path, `port name "${name}" on bridge "${bridge}" is also the default name of ${claim.owner}; choose another name`);
    } else {
      this.report(claim.path, `port name "${name}" on bridge "${bridge}" is already used by ${prior.owner}`);
    }
  }

  private checkNodes(): void {
    const m = this.m;
    const bridges = new Map<string, string>();
    const dpids = new Map<string, string>();
    const underlays = new Map<string, string>();
    for (const [name, node] of m.nodes) {
      const bridge = node.bridge ?? defaultBridgeName(name);
      const prior = bridges.get(bridge);
      if (prior !== undefined) {
        this.report(
          node.bridge !== undefined ? ['nodes', name, 'bridge'] : ['nodes', name],
          `bridge name "${bridge}"${node.bridge === undefined ? ' (the default)' : ''} is already the bridge of node "${prior}"; bridge names must be unique`,
        );
      } else {
        bridges.set(bridge, name);
      }
      this.bridgeOf.set(name, bridge);
      if (node.dpid !== undefined) {
        const dpid = node.dpid.toLowerCase();
        const owner = dpids.get(dpid);
        if (owner !== undefined) this.report(['nodes', name, 'dpid'], `datapath id ${dpid} is already used by node "${owner}"`);
        else dpids.set(dpid, name);
      }
      if (node.underlay_ip !== undefined) {
        const owner = underlays.get(node.underlay_ip);
        if (owner !== undefined) this.report(['nodes', name, 'underlay_ip'], `underlay address ${node.underlay_ip} is already used by node "${owner}"`);
        else underlays.set(node.underlay_ip, name);
      }
      if (node.kind === 'switch' && node.internal_port) {
        const ip = node.internal_port;
        this.overlayIp(['nodes', name, 'internal_port', 'ip'], ip.ip, `the internal port of switch "${name}" (nodes.${name}.internal_port.ip)`);
        this.port(name, ip.name ?? defaultInternalPortName(name), {
          owner: `the internal port (nodes.${name}.internal_port)`,
          path: ip.name !== undefined ? ['nodes', name, 'internal_port', 'name'] : ['nodes', name, 'internal_port'],
          explicit: ip.name !== undefined,
        });
      }
    }
    if (m.complete && m.nodes.size > 0 && ![...m.nodes.values()].some((n) => n.kind === 'switch')) {
      this.report(['nodes'], 'no switch: a topology needs at least one node of kind "switch"');
    }
    if (m.complete && m.nodes.size === 0) this.report(['nodes'], 'no nodes: a topology needs at least one switch');
  }

  /** The node a link end names, if it exists and has the wanted kind; reports otherwise. */
  private end(i: number, key: 'switch' | 'host' | 'peer', name: string, want: 'switch' | 'host'): NodeSpec | undefined {
    const m = this.m;
    if (m.brokenNodes.has(name)) {
      this.graphComplete = false;
      return undefined;
    }
    const node = m.nodes.get(name);
    if (!node) {
      this.report(['links', i, key], `unknown node "${name}"`);
    } else if (node.kind !== want) {
      const hint =
        key === 'host' ? ' (a switch-switch link names the other switch in "peer")' : key === 'peer' ? ' (a switch-host link names the host in "host", with "overlay_ip")' : '';
      this.report(['links', i, key], `"${name}" is a ${node.kind}, not a ${want}${hint}`);
    } else {
      return node;
    }
    this.graphComplete = false;
    return undefined;
  }

  private checkLinks(): void {
    const m = this.m;
    const pairs = new Map<string, number>();
    const vnis = new Map<number, number>();
    const tunnelCount = new Map<string, number>();
    m.links.forEach((link, i) => {
      if (!link) {
        this.graphComplete = false;
        return;
      }
      if (link.vni !== undefined) {
        const prior = vnis.get(link.vni);
        if (prior !== undefined) this.report(['links', i, 'vni'], `VNI ${link.vni} is already used by links[${prior}]`);
        else vnis.set(link.vni, i);
      }
      const a = this.end(i, 'switch', link.switch, 'switch');
      let bName: string;
      let b: NodeSpec | undefined;
      if (isHostLink(link)) {
        bName = link.host;
        b = this.end(i, 'host', link.host, 'host');
        this.overlayIp(['links', i, 'overlay_ip'], link.overlay_ip, `host "${link.host}" (links[${i}].overlay_ip)`);
      } else {
        bName = link.peer;
        b = this.end(i, 'peer', link.peer, 'switch');
        if (a && b && link.peer === link.switch) {
          this.report(['links', i, 'peer'], `a switch cannot be linked to itself ("${link.peer}")`);
          this.graphComplete = false;
          return;
        }
      }
      if (!a || !b) return;
      const key = [link.switch, bName].sort().join('\0');
      const prior = pairs.get(key);
      if (prior !== undefined) {
        this.report(['links', i], `duplicate link: links[${prior}] already joins "${link.switch}" and "${bName}"`);
        return;
      }
      pairs.set(key, i);
      if (isHostLink(link)) {
        const other = this.hostLink.get(link.host);
        if (other !== undefined) {
          this.report(
            ['links', i, 'host'],
            `host "${link.host}" already has a link (links[${other}], to switch "${(m.links[other] as LinkSpec).switch}"); a host has exactly one link`,
          );
          return;
        }
        this.hostLink.set(link.host, i);
        this.port(link.host, link.port ?? defaultInternalPortName(link.host), {
          owner: `the internal port of host "${link.host}" (links[${i}])`,
          path: link.port !== undefined ? ['links', i, 'port'] : ['links', i],
          explicit: link.port !== undefined,
        });
      }
      this.goodLinks.add(i);
      const bTunnel = isHostLink(link) ? link.host_tunnel : link.peer_tunnel;
      const tunnel = (peer: string, field: string, written: string | undefined): PortClaim => ({
        owner: `the tunnel port to "${peer}" (links[${i}])`, path: written !== undefined ? ['links', i, field] : ['links', i], explicit: written !== undefined,
      });
      this.port(link.switch, link.switch_tunnel ?? defaultTunnelPortName(bName), tunnel(bName, 'switch_tunnel', link.switch_tunnel));
      this.port(bName, bTunnel ?? defaultTunnelPortName(link.switch), tunnel(link.switch, isHostLink(link) ? 'host_tunnel' : 'peer_tunnel', bTunnel));
      for (const n of [link.switch, bName]) {
        const count = (tunnelCount.get(n) ?? 0) + 1;
        tunnelCount.set(n, count);
        if (count === OFPORT_TUNNEL_MAX - OFPORT_TUNNEL_MIN + 2) {
          this.report(['links', i], `node "${n}" has more than ${OFPORT_TUNNEL_MAX - OFPORT_TUNNEL_MIN + 1} links (the tunnel port number range)`);
        }
      }
    });
  }

  private checkContainers(): void {
    const m = this.m;
    const macs = new Map<string, string>();
    const portNames = new Map<string, string>();
    // Numbers need be unique per bridge only (see resolve): the limit is one host's.
    const perHost = new Map<string, number>();
    for (const [name, c] of m.containers) {
      const base: PathSegment[] = ['containers', name];
      if (m.nodes.has(name) || m.brokenNodes.has(name)) {
        this.report(base, `"${name}" is also a node name; node and container names must differ (both name network namespaces)`);
      }
      const mac = parseMac(c.mac);
      if (mac.ok) {
        const prior = macs.get(mac.value);
        if (prior !== undefined) this.report([...base, 'mac'], `MAC address ${mac.value} is already used by container "${prior}"`);
        else macs.set(mac.value, name);
      }
      this.overlayIp([...base, 'ip'], c.ip, `container "${name}" (containers.${name}.ip)`);
      const portName = c.port ?? defaultContainerPortName(name);
      const portPath = c.port !== undefined ? [...base, 'port'] : base;
      // Unique across containers, not just per bridge: a container keeps its port name when it migrates.
      const prior = portNames.get(portName);
      if (prior !== undefined) this.report(portPath, `port name "${portName}" is already used by container "${prior}" (containers keep their port name when they migrate)`);
      else portNames.set(portName, name);
      if (m.brokenNodes.has(c.host)) continue;
      if (!m.nodes.has(c.host)) {
        this.report([...base, 'host'], `unknown node "${c.host}"`);
        continue;
      }
      if (prior === undefined) this.port(c.host, portName, { owner: `container "${name}"`, path: portPath, explicit: c.port !== undefined });
      const count = (perHost.get(c.host) ?? 0) + 1;
      perHost.set(c.host, count);
      if (count === OFPORT_CONTAINER_MAX - OFPORT_CONTAINER_MIN + 2) {
        this.report([...base, 'host'], `node "${c.host}" has more than ${OFPORT_CONTAINER_MAX - OFPORT_CONTAINER_MIN + 1} containers (the container port number range of one bridge)`);
      }
    }
  }

  private checkGraph(): void {
    const m = this.m;
    const switches = [...m.nodes].filter(([, n]) => n.kind === 'switch').map(([name]) => name);
    for (const [name, node] of m.nodes) {
      if (node.kind === 'host' && !this.hostLink.has(name)) {
        this.report(['nodes', name], `host "${name}" has no link; every host needs exactly one link to a switch`);
      }
    }
    if (switches.length < 2) return;
    const adj = new Map<string, string[]>(switches.map((s) => [s, []]));
    for (const i of this.goodLinks) {
      const link = m.links[i]!;
      if (isHostLink(link)) continue;
      adj.get(link.switch)!.push(link.peer);
      adj.get(link.peer)!.push(link.switch);
    }
    const seen = new Set<string>();
    const groups: string[][] = [];
    for (const start of switches) {
      if (seen.has(start)) continue;
      const group: string[] = [];
      const stack = [start];
      seen.add(start);
      while (stack.length > 0) {
        const s = stack.pop()!;
        group.push(s);
        for (const n of adj.get(s)!) {
          if (!seen.has(n)) {
            seen.add(n);
            stack.push(n);
          }
        }
      }
      groups.push(group.sort());
    }
    if (groups.length > 1) {
      const list = groups.map((g) => `[${g.join(', ')}]`).join(', ');
      this.report(['links'], `the switches are not connected: ${groups.length} separate groups ${list}; join them with switch-switch links`);
    }
  }
}

function controllerAddress(text: string): ControllerAddress {
  const r = parseHostPort(text);
  if (!r.ok) throw new Error(`unreachable: controller address "${text}" passed validation`);
  return { host: r.value.host, port: r.value.port, target: ovsTarget(r.value) };
}

/** Builds the resolved topology from a model that passed every check. */
function resolve(m: Model, c: Checker): ResolvedTopology {
  const overlay = m.overlay!;
  const top = controllerAddress(m.controller!);

  // Datapath ids: pinned ones first, then derived ones in file order.
  const usedDpids = new Set<bigint>();
  for (const node of m.nodes.values()) if (node.dpid !== undefined) usedDpids.add(parseDpid(node.dpid));
  const dpidOf = new Map<string, string>();
  for (const [name, node] of m.nodes) {
    let dpid: bigint;
    if (node.dpid !== undefined) {
      dpid = parseDpid(node.dpid);
    } else {
      dpid = preferredDpid(name);
      while (usedDpids.has(dpid) || dpid === 0n) dpid = (dpid + 1n) % DPID_SPACE;
      usedDpids.add(dpid);
    }
    dpidOf.set(name, formatDpid(dpid));
  }

  // VNIs: pinned ones first, then derived ones in link order.
  const vniPool = new NumberPool(VNI_DERIVED_MIN, VNI_DERIVED_MAX);
  for (const link of m.links) if (link!.vni !== undefined) vniPool.reserve(link!.vni);

  const ports = new Map<string, PortPlan[]>([...m.nodes.keys()].map((n) => [n, []]));
  const internal = new Map<string, InternalPortPlan>();
  const addInternal = (node: string, name: string, ip: string) => {
    const plan: InternalPortPlan = { kind: 'internal', name, ofport: OFPORT_INTERNAL, ip, prefixLength: overlay.prefixLength };
    internal.set(node, plan);
    ports.get(node)!.push(plan);
  };
  for (const [name, node] of m.nodes) {
    if (node.kind === 'switch' && node.internal_port) addInternal(name, node.internal_port.name ?? defaultInternalPortName(name), node.internal_port.ip);
  }

  const tunnelPools = new Map<string, NumberPool>();
  const tunnelOfport = (node: string, peer: string) => {
    let pool = tunnelPools.get(node);
    if (!pool) tunnelPools.set(node, (pool = new NumberPool(OFPORT_TUNNEL_MIN, OFPORT_TUNNEL_MAX)));
    return pool.allocate(preferredTunnelOfport(peer));
  };
  const links: ResolvedLink[] = [];
  const graph: Record<string, SwitchAdjacency[]> = {};
  for (const [name, node] of m.nodes) if (node.kind === 'switch') graph[name] = [];
  m.links.forEach((l, index) => {
    const link = l!;
    const bName = isHostLink(link) ? link.host : link.peer;
    const vni = link.vni ?? vniPool.allocate(preferredVni(link.switch, bName));
    const end = (node: string, peer: string, written: string | undefined): LinkEnd => ({
      node,
      bridge: c.bridgeOf.get(node)!,
      port: written ?? defaultTunnelPortName(peer),
      ofport: tunnelOfport(node, peer),
    });
    const a = end(link.switch, bName, link.switch_tunnel);
    const b = end(bName, link.switch, isHostLink(link) ? link.host_tunnel : link.peer_tunnel);
    const tunnel = (from: LinkEnd, to: LinkEnd): TunnelPortPlan => ({
      kind: 'tunnel',
      name: from.port,
      ofport: from.ofport,
      peer: to.node,
      peerBridge: to.bridge,
      peerOfport: to.ofport,
      vni,
      link: index,
      localIp: m.nodes.get(from.node)!.underlay_ip ?? null,
      remoteIp: m.nodes.get(to.node)!.underlay_ip ?? null,
    });
    ports.get(a.node)!.push(tunnel(a, b));
    ports.get(b.node)!.push(tunnel(b, a));
    if (isHostLink(link)) {
      addInternal(link.host, link.port ?? defaultInternalPortName(link.host), link.overlay_ip);
    } else {
      graph[a.node]!.push({ switch: b.node, port: a.port, ofport: a.ofport, vni, link: index });
      graph[b.node]!.push({ switch: a.node, port: b.port, ofport: b.ofport, vni, link: index });
    }
    links.push({ index, kind: isHostLink(link) ? 'switch-host' : 'switch-switch', vni, a, b, overlayIp: isHostLink(link) ? link.overlay_ip : null });
  });
  for (const adj of Object.values(graph)) adj.sort((x, y) => (x.switch < y.switch ? -1 : x.switch > y.switch ? 1 : 0));

  // Container ports: one pool for the whole topology (see derive.ts), so that a container keeps
  // its number on whichever host it migrates to. The range holds 61,184: past that, a container
  // gets a number free on its own host (in file order, so appending moves nothing); one that
  // migrates where its number is taken gets another from OVS, and the controller follows its
  // port by name.
  const containerPool = new NumberPool(OFPORT_CONTAINER_MIN, OFPORT_CONTAINER_MAX);
  const hostPools = new Map<string, NumberPool>();
  const containers: Record<string, ResolvedContainer> = {};
  // A container's node as the node's own name string, not the copy each container's entry of the
  // file parsed to (100k containers: 100k copies of a few hundred names).
  const nodeNames = new Map<string, string>([...m.nodes.keys()].map((n) => [n, n]));
  for (const [name, spec] of m.containers) {
    const mac = parseMac(spec.mac);
    let hostPool = hostPools.get(spec.host);
    if (!hostPool) hostPools.set(spec.host, (hostPool = new NumberPool(OFPORT_CONTAINER_MIN, OFPORT_CONTAINER_MAX)));
    const preferred = preferredContainerOfport(name);
    const ofport = containerPool.full ? hostPool.allocate(preferred) : containerPool.allocate(preferred);
    hostPool.reserve(ofport);
    const plan: ContainerPortPlan = {
      kind: 'container',
      name: spec.port ?? defaultContainerPortName(name),
      ofport,
      container: name,
      mac: mac.ok ? mac.value : spec.mac,
      ip: spec.ip,
    };
    ports.get(spec.host)!.push(plan);
    containers[name] = { name, mac: plan.mac, ip: spec.ip, node: nodeNames.get(spec.host) ?? spec.host, bridge: c.bridgeOf.get(spec.host)!, port: plan.name, ofport: plan.ofport };
  }

  const nodes: Record<string, ResolvedNode> = {};
  const dpids: Record<string, string> = {};
  for (const [name, spec] of m.nodes) {
    const bridge = {
      name: c.bridgeOf.get(name)!,
      dpid: dpidOf.get(name)!,
      controller: spec.controller !== undefined ? controllerAddress(spec.controller) : top,
      internalPort: internal.get(name) ?? null,
      ports: ports.get(name)!.sort((x, y) => x.ofport - y.ofport),
    };
    dpids[bridge.dpid] = name;
    const base = {
      name,
      kind: spec.kind,
      region: spec.region,
      flavor: spec.flavor,
      underlayIp: spec.underlay_ip ?? null,
      ssh: { user: spec.ssh?.user ?? DEFAULT_SSH_USER, port: spec.ssh?.port ?? DEFAULT_SSH_PORT, key: spec.ssh?.key ?? null },
      bridge,
    };
    if (spec.kind === 'switch') {
      const hosts = links.filter((l) => l.kind === 'switch-host' && l.a.node === name).map((l) => l.b.node);
      nodes[name] = { ...base, kind: 'switch' as const, switches: graph[name]!.map((g) => g.switch), hosts: hosts.sort() };
    } else {
      const index = c.hostLink.get(name)!;
      const link = links[index]!;
      nodes[name] = { ...base, kind: 'host' as const, uplink: { switch: link.a.node, link: index, overlayIp: link.overlayIp! } };
    }
  }

  return {
    name: m.name,
    description: m.description,
    controller: top,
    overlay: {
      cidr: `${formatIpv4(overlay.network)}/${overlay.prefixLength}`,
      network: formatIpv4(overlay.network),
      prefixLength: overlay.prefixLength,
      netmask: formatIpv4(prefixMask(overlay.prefixLength)),
    },
    nodes,
    links,
    containers,
    switchGraph: graph,
    dpids,
  };
}

/**
 * Checks a parsed topology file (any JSON value) and resolves it when it is valid. Never
 * throws for a bad file: every problem is in `problems`.
 */
export function analyzeTopology(input: unknown): Analysis {
  const { model, problems } = schemaPass(input);
  if (!model) return { topology: null, problems };
  const checker = new Checker(model);
  checker.run();
  for (const p of checker.problems) problems.push(p); // not push(...): a huge file can have 100k+ problems
  if (problems.length > 0 || !model.complete) return { topology: null, problems };
  return { topology: resolve(model, checker), problems };
}
