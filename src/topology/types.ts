/**
 * The resolved topology: a validated file with every default filled in and every identifier
 * (datapath id, VNI, port name and OpenFlow port number) decided. This is what provisioning and
 * forwarding consume. Plain JSON-compatible data (no Map, no bigint) so it can be printed,
 * stored and compared; records keep the file's order.
 */

export type NodeKind = 'switch' | 'host';

export interface ControllerAddress {
  /** IPv4 address, host name, or IPv6 address without brackets. */
  host: string;
  port: number;
  /** OVS connection target, e.g. `tcp:10.12.11.26:6633`. */
  target: string;
}

export interface OverlaySubnet {
  /** Canonical `network/prefix`, e.g. `192.168.200.0/24`. */
  cidr: string;
  network: string;
  prefixLength: number;
  netmask: string;
}

export interface SshAccess {
  user: string;
  port: number;
  /** Private key file; null: ssh-agent or the client's default keys. */
  key: string | null;
}

/** OVS internal port carrying the bridge's overlay address. */
export interface InternalPortPlan {
  kind: 'internal';
  name: string;
  ofport: number;
  ip: string;
  prefixLength: number;
}

/** VXLAN port towards the bridge at the other end of a link. */
export interface TunnelPortPlan {
  kind: 'tunnel';
  name: string;
  ofport: number;
  /** Node at the other end. */
  peer: string;
  peerBridge: string;
  /** OpenFlow port number of the matching tunnel port on the peer's bridge. */
  peerOfport: number;
  /** VXLAN key (options:key). */
  vni: number;
  /** Index of the link in the file's `links`. */
  link: number;
  /** This node's underlay address (options:local_ip); null until a provider assigns it. */
  localIp: string | null;
  /** The peer's underlay address (options:remote_ip); null until a provider assigns it. */
  remoteIp: string | null;
}

/** Port of a container's interface (as initially placed). */
export interface ContainerPortPlan {
  kind: 'container';
  name: string;
  ofport: number;
  container: string;
  mac: string;
  ip: string;
}

export type PortPlan = InternalPortPlan | TunnelPortPlan | ContainerPortPlan;

export interface ResolvedBridge {
  name: string;
  /** Datapath id, 16 lowercase hex digits (OVS other-config:datapath-id). */
  dpid: string;
  controller: ControllerAddress;
  /** The port holding the bridge's overlay address, if it has one (also listed in `ports`). */
  internalPort: InternalPortPlan | null;
  /** Every planned port, ascending by `ofport`; names unique on the bridge. */
  ports: PortPlan[];
}

interface ResolvedNodeBase {
  name: string;
  kind: NodeKind;
  region: string;
  flavor: string;
  /** Underlay address (VXLAN remote end and SSH target); null until a provider assigns it. */
  underlayIp: string | null;
  ssh: SshAccess;
  bridge: ResolvedBridge;
}

export interface ResolvedSwitch extends ResolvedNodeBase {
  kind: 'switch';
  /** Neighbouring switches, sorted by name. */
  switches: string[];
  /** Hosts linked to this switch, sorted by name. */
  hosts: string[];
}

export interface HostUplink {
  switch: string;
  /** Index of the link in the file's `links`. */
  link: number;
  /** Overlay address on the host's end of the link (its internal port). */
  overlayIp: string;
}

export interface ResolvedHost extends ResolvedNodeBase {
  kind: 'host';
  uplink: HostUplink;
}

export type ResolvedNode = ResolvedSwitch | ResolvedHost;

export interface LinkEnd {
  node: string;
  bridge: string;
  /** Tunnel port name on `bridge`. */
  port: string;
  ofport: number;
}

export interface ResolvedLink {
  index: number;
  kind: 'switch-host' | 'switch-switch';
  vni: number;
  /** The `switch` end. */
  a: LinkEnd;
  /** The `host` (switch-host) or `peer` (switch-switch) end. */
  b: LinkEnd;
  /** Switch-host links: the host's overlay address; null for switch-switch links. */
  overlayIp: string | null;
}

export interface ResolvedContainer {
  name: string;
  mac: string;
  ip: string;
  /** Node whose bridge the container attaches to. */
  node: string;
  bridge: string;
  port: string;
  /**
   * OpenFlow port number; unique across the topology, so the container can keep it on the
   * bridge it migrates to.
   */
  ofport: number;
}

/** One edge of the switch graph, seen from a switch. */
export interface SwitchAdjacency {
  switch: string;
  /** Tunnel port towards `switch`. */
  port: string;
  ofport: number;
  vni: number;
  link: number;
}

export interface ResolvedTopology {
  name: string;
  description: string | null;
  /** The top-level controller (bridges may override it: see `bridge.controller`). */
  controller: ControllerAddress;
  overlay: OverlaySubnet;
  nodes: Record<string, ResolvedNode>;
  links: ResolvedLink[];
  containers: Record<string, ResolvedContainer>;
  /** Switch adjacency, neighbours sorted by name; every switch has an entry. */
  switchGraph: Record<string, SwitchAdjacency[]>;
  /** Datapath id (16 hex digits) -> node name. */
  dpids: Record<string, string>;
}
