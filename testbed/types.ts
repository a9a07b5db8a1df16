/**
 * Public types of the embedded emulated testbed (the `netns` node provider): every topology node
 * is a network namespace running its own ovsdb-server and ovs-vswitchd (userspace datapath),
 * joined by an emulated underlay; containers are namespaces attached to a node's bridge.
 */

/** What provisioning needs to reach one node (coded against by the provisioning helper). */
export interface NodeAccess {
  node: string;                       // topology node name
  underlayIp: string;
  /** OVSDB of the node: a connection target such as `unix:/tmp/.../db.sock`. */
  ovsdbTarget: string;
  /** Runs a command on the node (inside its namespace); rejects with stderr on non-zero exit. */
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  /** Environment for ovs-vsctl/ovs-ofctl/ovs-appctl aimed at this node's OVS (OVS_RUNDIR etc.). */
  ovsEnv: Record<string, string>;
}

export interface TestbedOptions {
  /**
   * Underlay subnet (CIDR). Default: a /24 in 10.250.0.0/16 that no route of the root namespace
   * overlaps. The first host address is the gateway (see `gateway`), nodes get the next ones in
   * topology order.
   */
  underlaySubnet?: string;
  /**
   * Give the root namespace the underlay's first address (on a veth named `<run>-gw`) so the
   * nodes' OVS can reach a controller running on this machine. Default true. Without it no
   * address or route is added outside the namespaces the testbed makes.
   */
  gateway?: boolean;
  /**
   * With a gateway: in the returned topology, replace controller targets on a loopback address
   * (127.0.0.0/8, localhost, ::1), which a node namespace cannot reach, by the gateway address
   * (same port). A controller listening on 0.0.0.0 (the default) then accepts the switches.
   * Default true.
   */
  rewriteLoopbackController?: boolean;
  /** Parent folder of the per-run folders (default `$TMPDIR/vino-testbed`). */
  baseDir?: string;
  /** Nodes brought up at the same time (default 4; the work is mostly waiting on processes). */
  concurrency?: number;
  /** Ping from every node to the next one (a ring) before returning. Default true. */
  verifyUnderlay?: boolean;
  /** Kill everything on process exit, SIGINT, SIGTERM and SIGHUP. Default true. */
  cleanupOnExit?: boolean;
  /** Progress messages (one line each, no newline). */
  log?: (message: string) => void;
}

export interface ContainerOptions {
  name: string;
  mac: string;
  ip: string;
  prefixLength: number;
  /** Name of the host end of the veth pair, which becomes the bridge port (<= 15 characters). */
  portName: string;
  /** Default 1400: leaves room for the VXLAN encapsulation on a 1500-byte underlay. */
  mtu?: number;
  /** OpenFlow port number to request (Interface ofport_request). */
  ofport?: number;
  /** Bridge to attach to (default: the node's overlay bridge from the topology). */
  bridge?: string;
  /** Send a gratuitous ARP once plugged in (default true). */
  announce?: boolean;
  /**
   * `eth0` is a Linux bridge inside the container (holding its MAC and address) whose links to
   * the nodes are veth "legs": a second leg can be prepared at another node (prepareStandby)
   * and the move becomes one link flip (switchToStandby) instead of a veth re-creation. Default false.
   */
  bridged?: boolean;
}

/** A container's second link, plugged in at another place and kept down until the flip. */
export interface StandbyLink {
  node: string;
  bridge: string;
  portName: string;
  ofport: number | null;
  /** The leg's name inside the container. */
  leg: string;
}

/** What one link flip took (CLOCK_MONOTONIC ms). */
export interface LinkFlip {
  /** Command started. */
  startAt: number;
  /** The old leg is down (the old port has lost its carrier). */
  downAt: number;
  /** The new leg is up (the new port has carrier). */
  upAt: number;
}

export interface MoveOptions {
  /** Port name on the new node (default: the current one). */
  portName?: string;
  /** OpenFlow port number to request on the new bridge (default: the current one, if any). */
  ofport?: number;
  /** Bridge on the new node (default: that node's overlay bridge from the topology). */
  bridge?: string;
  /** Send a gratuitous ARP once plugged in at the new place (default true). */
  announce?: boolean;
}

export interface ExecOptions {
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Written to the command's stdin. */
  input?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

/** One node as the run record stores it. */
export interface NodeRecord {
  name: string;
  /** Position in the topology (names the underlay veth `u<index>`). */
  index: number;
  namespace: string;
  underlayIp: string;
  /** MAC of br-phy (the tunnel end point's address on the underlay). */
  underlayMac: string;
  /** OVS_RUNDIR = OVS_DBDIR = OVS_LOGDIR = OVS_SYSCONFDIR of the node. */
  dir: string;
  ovsdbTarget: string;
  ovsdbServerPid: number | null;
  vswitchdPid: number | null;
  /** Overlay bridge named by the topology (created by provisioning, not by the testbed). */
  bridge: string;
}

export interface ContainerRecord {
  name: string;
  namespace: string;
  node: string;
  bridge: string;
  portName: string;
  ofport: number | null;
  mac: string;
  ip: string;
  prefixLength: number;
  mtu: number;
  /** `eth0` is a bridge with veth legs (ContainerOptions.bridged); absent in older records. */
  bridged?: boolean;
  /** Bridged: the leg in use now. */
  leg?: string;
  /** Bridged: a prepared second link (down), or null. */
  standby?: StandbyLink | null;
}

/**
 * Everything one run created, written to `<runDir>/run.json` before each thing is created, so
 * that teardown (also from another process, or `cleanupStale` after a crash) finds all of it.
 */
export interface RunRecord {
  version: 1;
  runId: string;
  runDir: string;
  /** The process that tears the run down when it exits; null once detached (CLI `up`). */
  owner: { pid: number; startTime: number } | null;
  createdAt: string;
  topologyName: string;
  underlay: {
    cidr: string;
    prefixLength: number;
    /** Root-namespace address on the underlay, null without a gateway. */
    gateway: string | null;
    /** Namespace holding the underlay's Linux bridge. */
    namespace: string;
    bridge: string;
  };
  /** Every namespace made: the underlay's, the nodes', the containers'. */
  namespaces: string[];
  /** Links made in the root namespace (the gateway veth). */
  rootLinks: string[];
  nodes: Record<string, NodeRecord>;
  containers: Record<string, ContainerRecord>;
}

export interface ProcessStatus {
  pid: number | null;
  alive: boolean;
}

export interface NodeStatus {
  node: string;
  namespace: string;
  namespaceExists: boolean;
  underlayIp: string;
  ovsdbServer: ProcessStatus;
  vswitchd: ProcessStatus;
  /** ovsdb-server answered list_dbs on its socket. */
  ovsdbReachable: boolean;
  /** ovs-vswitchd answered `version` on its control socket. */
  vswitchdReachable: boolean;
  /** Why something is not healthy (null when everything is). */
  problem: string | null;
}

export interface ContainerStatus {
  name: string;
  namespace: string;
  namespaceExists: boolean;
  node: string;
  portName: string;
  /** Processes running in the container's namespace. */
  pids: number[];
}

export interface TestbedStatus {
  runId: string;
  runDir: string;
  /** Every node's namespace, daemons and sockets are there. */
  healthy: boolean;
  nodes: NodeStatus[];
  containers: ContainerStatus[];
}
