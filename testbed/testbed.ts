/**
 * The embedded emulated testbed (`netns` node provider).
 *
 * Layout of one run (run id `vtXXXX`):
 *
 *   root namespace      [vtXXXX-gw] 10.250.X.1 ─┐ (optional gateway, for a controller here)
 *   vtXXXX.underlay     br0 (Linux bridge) ─ gw, u0, u1, ...
 *   vtXXXX-<node>       underlay (veth peer of u<i>) ─ br-phy (OVS, netdev) holding 10.250.X.<i+2>
 *                       own ovsdb-server + ovs-vswitchd; the overlay bridge comes from provisioning
 *   vtXXXX-<container>  eth0 (MAC/IP of the container) ─ veth ─ <portName> on the node's bridge
 *
 * Why br-phy: the userspace datapath sends VXLAN itself, so the tunnel end point address must be
 * on an OVS bridge of the same datapath (native tunnelling); a kernel address on the bare veth
 * would never see the encapsulated frames. Why no TX checksum offload: frames read through
 * AF_PACKET by the userspace datapath carry only a partial checksum otherwise, and the receiver
 * drops TCP segments (ping, with full checksums, works regardless).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseIpv4, parseMac } from '../src/topology/net.js';
import type { ResolvedTopology } from '../src/topology/types.js';
import {
  loadRecord,
  ownerAlive,
  processStartTime,
  registerExitTeardown,
  registerRun,
  saveRecord,
  targetOf,
  teardown,
  teardownSync,
  unregisterExitTeardown,
} from './cleanup.js';
import {
  checkIfname,
  checkName,
  CONTAINER_IF,
  containerNetns,
  defaultBaseDir,
  GATEWAY_PEER_IF,
  gatewayLink,
  newRunId,
  NODE_UNDERLAY_IF,
  nodeNetns,
  PHY_BRIDGE,
  UNDERLAY_BRIDGE,
  underlayMac,
  underlayNetns,
  underlayPort,
} from './names.js';
import { checkSocketPaths, daemonCall, dbSocket, ovsEnvFor, setTunnelNeighbours, setUnderlayRoute, startOvs, startOvsdbServerDaemon, startVswitchdDaemon, vswitchdCtl } from './ovs.js';
import { isAlive, mapLimit, netnsExists, pidsInNetns, run, runInNetns, shellScript, sleep, stopProcesses } from './proc.js';
import type {
  ContainerOptions,
  ContainerRecord,
  ContainerStatus,
  ExecOptions,
  ExecResult,
  LinkFlip,
  MoveOptions,
  NodeAccess,
  NodeRecord,
  NodeStatus,
  RunRecord,
  StandbyLink,
  TestbedOptions,
  TestbedStatus,
} from './types.js';
import { conflictingRoute, parseUnderlaySubnet, pickUnderlaySubnet, underlayAddresses } from './underlay.js';

export const DEFAULT_CONTAINER_MTU = 1400;

const LOOPBACK_HOST = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/i;

/** A copy of `topology` with the underlay addresses (and reachable controller targets) filled in. */
export function fillTopology(topology: ResolvedTopology, ips: Record<string, string>, controllerHost: string | null): ResolvedTopology {
  const out = structuredClone(topology);
  const fixController = (c: { host: string; port: number; target: string }) => {
    if (controllerHost === null || !LOOPBACK_HOST.test(c.host)) return;
    const scheme = c.target.slice(0, c.target.indexOf(':'));
    c.host = controllerHost;
    c.target = `${scheme}:${controllerHost}:${c.port}`;
  };
  fixController(out.controller);
  for (const node of Object.values(out.nodes)) {
    node.underlayIp = ips[node.name] ?? null;
    fixController(node.bridge.controller);
    for (const port of node.bridge.ports) {
      if (port.kind !== 'tunnel') continue;
      port.localIp = ips[node.name] ?? null;
      port.remoteIp = ips[port.peer] ?? null;
    }
  }
  return out;
}

async function writeProcSys(file: string, value: string): Promise<void> {
  try {
    await writeFile(file, value);
  } catch (e) {
    // No IPv6 in this kernel: nothing to disable.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

class NodeHandle implements NodeAccess {
  constructor(
    private readonly bed: Testbed,
    private readonly rec: NodeRecord,
  ) {}
  get node() {
    return this.rec.name;
  }
  get underlayIp() {
    return this.rec.underlayIp;
  }
  get ovsdbTarget() {
    return this.rec.ovsdbTarget;
  }
  get ovsEnv() {
    return ovsEnvFor(this.rec.dir);
  }
  /** Namespace of the node (for `ip netns exec`). */
  get namespace() {
    return this.rec.namespace;
  }
  /** Control socket of the node's ovs-vswitchd (for ovs-appctl -t). */
  get vswitchdCtl() {
    return this.rec.vswitchdPid === null ? null : vswitchdCtl(this.rec.dir, this.rec.vswitchdPid);
  }
  async exec(argv: string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    this.bed.assertUp();
    return runInNetns(this.rec.namespace, argv, { ...opts, env: this.ovsEnv });
  }
}

export class Testbed {
  /** The topology with underlay addresses filled in (and loopback controllers rewritten). */
  readonly topology: ResolvedTopology;
  private record: RunRecord;
  private readonly owner: boolean;
  private readonly access = new Map<string, NodeHandle>();
  private readonly children = new Set<ChildProcess>();
  private downing: Promise<void> | undefined;

  private constructor(record: RunRecord, topology: ResolvedTopology, owner: boolean) {
    this.record = record;
    this.topology = topology;
    this.owner = owner;
    for (const rec of Object.values(record.nodes)) this.access.set(rec.name, new NodeHandle(this, rec));
  }

  get runId(): string {
    return this.record.runId;
  }
  get runDir(): string {
    return this.record.runDir;
  }
  get underlay(): RunRecord['underlay'] {
    return { ...this.record.underlay };
  }
  /** A copy of the run record (what `down` needs, e.g. from another process). */
  toRecord(): RunRecord {
    return structuredClone(this.record);
  }

  /**
   * Brings up a testbed for `topology`. On failure everything created so far is removed before
   * the error is thrown.
   */
  static async up(topology: ResolvedTopology, options: TestbedOptions = {}): Promise<Testbed> {
    await checkEnvironment();
    const log = options.log ?? (() => {});
    const baseDir = path.resolve(options.baseDir ?? defaultBaseDir());
    const gateway = options.gateway ?? true;
    const names = Object.keys(topology.nodes);
    if (names.length === 0) throw new Error('testbed: the topology has no nodes');
    for (const n of names) checkName('node', n);
    for (const c of Object.keys(topology.containers)) {
      if (topology.nodes[c]) throw new Error(`testbed: "${c}" is both a node and a container name (both name namespaces)`);
    }

    let cidr;
    if (options.underlaySubnet) {
      cidr = parseUnderlaySubnet(options.underlaySubnet);
      const clash = gateway ? conflictingRoute(cidr) : null;
      if (clash) throw new Error(`testbed: underlay subnet ${cidr.text} overlaps the route ${clash} of this machine (the gateway would break it)`);
    } else {
      cidr = pickUnderlaySubnet();
    }
    const addrs = underlayAddresses(cidr, names.length);

    // Socket paths are limited to 107 bytes: refuse a base folder too long before making anything.
    const longestName = names.reduce((a, b) => (b.length > a.length ? b : a));
    checkSocketPaths(path.join(baseDir, 'vt0000', `node-${longestName}`));
    mkdirSync(baseDir, { recursive: true, mode: 0o755 });
    const runId = newRunId(baseDir);
    const runDir = path.join(baseDir, runId);
    mkdirSync(runDir, { mode: 0o755 });
    const record: RunRecord = {
      version: 1,
      runId,
      runDir,
      owner: { pid: process.pid, startTime: processStartTime(process.pid) },
      createdAt: new Date().toISOString(),
      topologyName: topology.name,
      underlay: {
        cidr: cidr.text,
        prefixLength: cidr.prefixLength,
        gateway: gateway ? addrs.gateway : null,
        namespace: underlayNetns(runId),
        bridge: UNDERLAY_BRIDGE,
      },
      namespaces: [],
      rootLinks: [],
      nodes: {},
      containers: {},
    };
    names.forEach((name, index) => {
      const dir = path.join(runDir, `node-${name}`);
      record.nodes[name] = {
        name,
        index,
        namespace: nodeNetns(runId, name),
        underlayIp: addrs.nodes[index]!,
        underlayMac: underlayMac(runId, index),
        dir,
        ovsdbTarget: `unix:${dbSocket(dir)}`,
        ovsdbServerPid: null,
        vswitchdPid: null,
        bridge: topology.nodes[name]!.bridge.name,
      };
    });
    try {
      saveRecord(record);
      registerRun(runId, runDir);
    } catch (e) {
      rmSync(runDir, { recursive: true, force: true });
      throw new Error(`testbed: cannot record run ${runId}: ${(e as Error).message}`);
    }
    const rewrite = gateway && (options.rewriteLoopbackController ?? true);
    const filled = fillTopology(
      topology,
      Object.fromEntries(names.map((n) => [n, record.nodes[n]!.underlayIp])),
      rewrite ? addrs.gateway : null,
    );
    const bed = new Testbed(record, filled, true);
    if (options.cleanupOnExit ?? true) registerExitTeardown(runId, () => void teardownSync(targetOf(bed.record)));

    log(`testbed ${runId}: ${names.length} nodes, underlay ${cidr.text}${gateway ? ` (gateway ${addrs.gateway})` : ''}, folder ${runDir}`);
    try {
      await bed.build(options, log);
    } catch (e) {
      log(`testbed ${runId}: bring-up failed, removing what was made`);
      try {
        await bed.down();
      } catch (cleanupError) {
        (e as Error).message += `\n(cleanup after the failure: ${(cleanupError as Error).message})`;
      }
      throw e;
    }
    log(`testbed ${runId}: up`);
    return bed;
  }

  /**
   * A handle on a run made by another process (from its record), e.g. for the CLI's `down` and
   * `status`, or a demo driving containers. It does not tear the run down on exit.
   */
  static attach(record: RunRecord, topology: ResolvedTopology): Testbed {
    const current = loadRecord(record.runDir) ?? record;
    return new Testbed(current, topology, false);
  }

  private save(): void {
    saveRecord(this.record);
  }

  private async build(options: TestbedOptions, log: (m: string) => void): Promise<void> {
    const r = this.record;
    const nodes = Object.values(r.nodes);
    const ul = r.underlay.namespace;

    // Namespaces are recorded before they exist: teardown ignores missing ones.
    r.namespaces.push(ul);
    for (const n of nodes) r.namespaces.push(n.namespace); // no push(...xs): a large array overflows the stack
    this.save();
    await run(['ip', '-batch', '-'], { input: [ul, ...nodes.map((n) => n.namespace)].map((n) => `netns add ${n}\n`).join('') });

    // The underlay: a Linux bridge in a namespace of its own (clear of this machine's bridge
    // netfilter and routes), one veth per node whose other end lands in the node.
    const ulScript: string[][] = [
      ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
      ['ip', 'link', 'set', 'lo', 'up'],
      ['ip', 'link', 'add', UNDERLAY_BRIDGE, 'type', 'bridge'],
      ['ip', 'link', 'set', UNDERLAY_BRIDGE, 'up'],
    ];
    for (const n of nodes) {
      const u = underlayPort(n.index);
      ulScript.push(
        ['ip', 'link', 'add', u, 'type', 'veth', 'peer', 'name', NODE_UNDERLAY_IF, 'netns', n.namespace],
        ['ip', 'link', 'set', u, 'master', UNDERLAY_BRIDGE],
        ['ethtool', '-K', u, 'tx', 'off'],
        ['ip', 'link', 'set', u, 'up'],
      );
    }
    await runInNetns(ul, ['sh', '-ec', shellScript(ulScript)]);

    if (r.underlay.gateway) {
      const gw = gatewayLink(r.runId);
      r.rootLinks.push(gw);
      this.save();
      await run(['ip', 'link', 'add', gw, 'type', 'veth', 'peer', 'name', GATEWAY_PEER_IF, 'netns', ul]);
      // Before the link is up, so it never sends IPv6 autoconfiguration into the underlay.
      await writeProcSys(`/proc/sys/net/ipv6/conf/${gw}/disable_ipv6`, '1');
      await run(['ethtool', '-K', gw, 'tx', 'off']);
      await run(['ip', '-batch', '-'], { input: `addr add ${r.underlay.gateway}/${r.underlay.prefixLength} dev ${gw}\nlink set ${gw} up\n` });
      await runInNetns(ul, ['sh', '-ec', shellScript([
        ['ip', 'link', 'set', GATEWAY_PEER_IF, 'master', UNDERLAY_BRIDGE],
        ['ethtool', '-K', GATEWAY_PEER_IF, 'tx', 'off'],
        ['ip', 'link', 'set', GATEWAY_PEER_IF, 'up'],
      ])]);
    }

    await mapLimit(nodes, Math.max(1, options.concurrency ?? 4), async (n) => {
      await this.buildNode(n);
      log(`testbed ${r.runId}: node ${n.name} up (${n.namespace}, ${n.underlayIp})`);
    });

    // Userspace tunnels drop frames until they know the remote end point's MAC: give every
    // node every other node's br-phy MAC (known: we set it).
    await mapLimit(nodes, 4, (n) =>
      setTunnelNeighbours(
        vswitchdCtl(n.dir, n.vswitchdPid!),
        PHY_BRIDGE,
        nodes.filter((p) => p !== n).map((p) => ({ ip: p.underlayIp, mac: p.underlayMac })),
      ),
    );

    if (options.verifyUnderlay ?? true) {
      await mapLimit(nodes, 4, async (n, i) => {
        const target = nodes.length > 1 ? nodes[(i + 1) % nodes.length]!.underlayIp : r.underlay.gateway;
        if (target) await this.waitPing(n, target);
      });
      log(`testbed ${r.runId}: underlay verified`);
    }
  }

  private async buildNode(n: NodeRecord): Promise<void> {
    await runInNetns(n.namespace, ['sh', '-ec', shellScript([
      ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
      ['ip', 'link', 'set', 'lo', 'up'],
      ['ethtool', '-K', NODE_UNDERLAY_IF, 'tx', 'off'],
      ['ip', 'link', 'set', NODE_UNDERLAY_IF, 'up'],
    ])]);
    await startOvs(n.namespace, n.dir, {
      onPid: (kind, pid) => {
        if (kind === 'ovsdb-server') n.ovsdbServerPid = pid;
        else n.vswitchdPid = pid;
        this.save();
      },
    });
    const env = ovsEnvFor(n.dir);
    // Without --no-wait: returns once ovs-vswitchd has made the bridge (and its tap) exist.
    await run(['ovs-vsctl', `--db=${n.ovsdbTarget}`, '--timeout=30',
      '--', 'add-br', PHY_BRIDGE,
      '--', 'set', 'Bridge', PHY_BRIDGE, 'datapath_type=netdev', 'fail_mode=standalone', `other_config:hwaddr="${n.underlayMac}"`,
      '--', 'add-port', PHY_BRIDGE, NODE_UNDERLAY_IF], { env });
    await runInNetns(n.namespace, ['ip', '-batch', '-'], {
      input: `addr add ${n.underlayIp}/${this.record.underlay.prefixLength} dev ${PHY_BRIDGE}\nlink set ${PHY_BRIDGE} up\n`,
    });
    // OVS does not read the kernel's routes (see startVswitchdDaemon): the tunnels' one route.
    await setUnderlayRoute(vswitchdCtl(n.dir, n.vswitchdPid!), this.record.underlay.cidr, PHY_BRIDGE);
  }

  private async waitPing(n: NodeRecord, target: string): Promise<void> {
    let last: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await runInNetns(n.namespace, ['ping', '-n', '-q', '-c', '1', '-w', '3', target], { timeoutMs: 10_000 });
        return;
      } catch (e) {
        last = e as Error;
      }
    }
    throw new Error(`testbed: node ${n.name} (${n.underlayIp}) cannot reach ${target} on the underlay: ${last?.message}`);
  }

  // ---- access ----

  assertUp(): void {
    if (this.downing) throw new Error(`testbed ${this.record.runId} is down`);
  }

  /** Every node, in topology order. */
  get nodes(): NodeAccess[] {
    return [...this.access.values()];
  }

  /**
   * Fault injection: kills a node's ovsdb-server or ovs-vswitchd with SIGKILL (a crash: no
   * cleanup, the datapath's taps stay) and waits until it is gone.
   */
  async killDaemon(node: string, kind: 'ovsdb-server' | 'ovs-vswitchd'): Promise<void> {
    this.assertUp();
    const n = this.nodeRecord(node);
    const pid = kind === 'ovsdb-server' ? n.ovsdbServerPid : n.vswitchdPid;
    if (pid === null || !isAlive(pid)) throw new Error(`testbed: ${kind} of node ${node} is not running`);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; isAlive(pid); i++) {
      if (i > 500) throw new Error(`testbed: ${kind} (pid ${pid}) of node ${node} survived SIGKILL for 5 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Starts a killed daemon again on the node's database and sockets; resolves once it answers. */
  async restartDaemon(node: string, kind: 'ovsdb-server' | 'ovs-vswitchd'): Promise<void> {
    this.assertUp();
    const n = this.nodeRecord(node);
    const pid = kind === 'ovsdb-server' ? n.ovsdbServerPid : n.vswitchdPid;
    if (pid !== null && isAlive(pid)) throw new Error(`testbed: ${kind} of node ${node} is still running (pid ${pid})`);
    const hooks = {
      onPid: (k: 'ovsdb-server' | 'ovs-vswitchd', p: number) => {
        if (k === 'ovsdb-server') n.ovsdbServerPid = p;
        else n.vswitchdPid = p;
        this.save();
      },
    };
    if (kind === 'ovsdb-server') await startOvsdbServerDaemon(n.namespace, n.dir, hooks);
    else {
      await startVswitchdDaemon(n.namespace, n.dir, hooks);
      // Its routing table is its own and went with it (br-phy's address stays on the kernel's tap).
      await setUnderlayRoute(vswitchdCtl(n.dir, n.vswitchdPid!), this.record.underlay.cidr, PHY_BRIDGE);
    }
  }

  node(name: string): NodeAccess & { namespace: string; vswitchdCtl: string | null } {
    const n = this.access.get(name);
    if (!n) throw new Error(`testbed: no node "${name}" (nodes: ${[...this.access.keys()].join(', ')})`);
    return n;
  }

  // ---- containers ----

  private container(name: string): ContainerRecord {
    const c = this.record.containers[name];
    if (!c) throw new Error(`testbed: no container "${name}"${Object.keys(this.record.containers).length ? ` (containers: ${Object.keys(this.record.containers).join(', ')})` : ''}`);
    return c;
  }

  private nodeRecord(name: string): NodeRecord {
    const n = this.record.nodes[name];
    if (!n) throw new Error(`testbed: no node "${name}" (nodes: ${Object.keys(this.record.nodes).join(', ')})`);
    return n;
  }

  /** Containers and where they are now. */
  get containers(): ContainerRecord[] {
    return Object.values(this.record.containers).map((c) => ({ ...c }));
  }

  /**
   * Creates a container: a namespace whose `eth0` has the MAC and address, plugged into the
   * node's bridge as port `portName`. The bridge must exist (provisioning makes it).
   */
  async addContainer(node: string, opts: ContainerOptions): Promise<void> {
    this.assertUp();
    checkName('container', opts.name);
    checkIfname('port name', opts.portName);
    if (this.record.containers[opts.name]) throw new Error(`testbed: container "${opts.name}" exists already (on ${this.record.containers[opts.name]!.node})`);
    if (this.record.nodes[opts.name]) throw new Error(`testbed: "${opts.name}" is a node name; container and node names must differ`);
    const n = this.nodeRecord(node);
    const mac = parseMac(opts.mac);
    if (!mac.ok) throw new Error(`testbed: container ${opts.name}: ${mac.message}`);
    const ip = parseIpv4(opts.ip);
    if (!ip.ok) throw new Error(`testbed: container ${opts.name}: ${ip.message}`);
    if (!Number.isInteger(opts.prefixLength) || opts.prefixLength < 1 || opts.prefixLength > 32) {
      throw new Error(`testbed: container ${opts.name}: prefix length ${opts.prefixLength} is not 1 to 32`);
    }
    const mtu = opts.mtu ?? DEFAULT_CONTAINER_MTU;
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9000) throw new Error(`testbed: container ${opts.name}: MTU ${mtu} is not 576 to 9000`);
    checkOfport(opts.ofport);

    const c: ContainerRecord = {
      name: opts.name,
      namespace: containerNetns(this.record.runId, opts.name),
      node: n.name,
      bridge: opts.bridge ?? n.bridge,
      portName: opts.portName,
      ofport: opts.ofport ?? null,
      mac: mac.value,
      ip: opts.ip,
      prefixLength: opts.prefixLength,
      mtu,
      ...(opts.bridged ? { bridged: true, standby: null } : {}),
    };
    if (netnsExists(c.namespace)) throw new Error(`testbed: namespace ${c.namespace} exists already`);
    this.record.containers[c.name] = c;
    this.record.namespaces.push(c.namespace);
    this.save();
    try {
      await run(['ip', 'netns', 'add', c.namespace]);
      // No IPv6: the container must send nothing it was not asked to (no router solicitations,
      // no MLD), so what the controller sees is the test's own traffic.
      await runInNetns(c.namespace, ['sh', '-ec', shellScript([
        ['sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
        ['ip', 'link', 'set', 'lo', 'up'],
      ])]);
      if (c.bridged) await this.makeContainerBridge(c);
      await this.plug(c, n, opts.announce ?? true);
    } catch (e) {
      await this.removeContainer(c.name).catch(() => {});
      throw e;
    }
  }

  /**
   * Makes the veth pair into node `n` and plugs it into the bridge. The container's end comes up
   * last, once the bridge port exists, so that with `announce` its gratuitous ARP (arp_notify)
   * reaches the bridge: learning switches and the controller see where the container is now,
   * as after a real migration.
   */
  private async plug(c: ContainerRecord, n: NodeRecord, announce: boolean): Promise<void> {
    if (c.bridged) {
      c.leg = freeLeg(c);
      this.save();
      await this.plugLeg(c, { node: n.name, bridge: c.bridge, portName: c.portName, ofport: c.ofport, leg: c.leg });
      await runInNetns(c.namespace, ['sysctl', '-qw', `net.ipv4.conf.${CONTAINER_IF}.arp_notify=${announce ? 1 : 0}`]);
      await runInNetns(c.namespace, ['ip', 'link', 'set', c.leg, 'up']);
      return;
    }
    await run(['ip', 'link', 'add', c.portName, 'netns', n.namespace, 'type', 'veth',
      'peer', 'name', CONTAINER_IF, 'address', c.mac, 'netns', c.namespace]);
    await runInNetns(c.namespace, ['sh', '-ec', shellScript([
      ['sysctl', '-qw', `net.ipv4.conf.${CONTAINER_IF}.arp_notify=${announce ? 1 : 0}`],
      ['ethtool', '-K', CONTAINER_IF, 'tx', 'off'],
      ['ip', 'link', 'set', CONTAINER_IF, 'mtu', String(c.mtu)],
      ['ip', 'addr', 'add', `${c.ip}/${c.prefixLength}`, 'dev', CONTAINER_IF],
    ])]);
    await runInNetns(n.namespace, ['sh', '-ec', shellScript([
      ['ethtool', '-K', c.portName, 'tx', 'off'],
      ['ip', 'link', 'set', c.portName, 'mtu', String(c.mtu)],
      ['ip', 'link', 'set', c.portName, 'up'],
    ])]);
    const argv = ['ovs-vsctl', `--db=${n.ovsdbTarget}`, '--timeout=30', '--', 'add-port', c.bridge, c.portName];
    if (c.ofport !== null) argv.push('--', 'set', 'Interface', c.portName, `ofport_request=${c.ofport}`);
    try {
      await run(argv, { env: ovsEnvFor(n.dir) });
    } catch (e) {
      throw new Error(`testbed: cannot plug container ${c.name} into bridge ${c.bridge} of node ${n.name} (the overlay bridge is made by provisioning): ${(e as Error).message}`);
    }
    await runInNetns(c.namespace, ['ip', 'link', 'set', CONTAINER_IF, 'up']);
  }

  /**
   * A bridged container's `eth0`: a Linux bridge with the container's MAC and address. No STP and
   * no forward delay (a leg forwards the moment its carrier is up), no multicast snooping or
   * querier (it must send nothing of its own), and it keeps its MAC whatever legs it has.
   */
  private async makeContainerBridge(c: ContainerRecord): Promise<void> {
    await runInNetns(c.namespace, ['sh', '-ec', shellScript([
      ['ip', 'link', 'add', CONTAINER_IF, 'address', c.mac, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0'],
      ['sysctl', '-qw', `net.ipv4.conf.${CONTAINER_IF}.arp_notify=0`],
      ['ip', 'link', 'set', CONTAINER_IF, 'mtu', String(c.mtu)],
      ['ip', 'addr', 'add', `${c.ip}/${c.prefixLength}`, 'dev', CONTAINER_IF],
      // A port that is always up (a veth whose other end stays unconfigured in the container):
      // without it the bridge loses its carrier between the old leg going down and the new one
      // coming up, and a carrier change makes the kernel flush the neighbour cache (arp.c,
      // NETDEV_CHANGE), which a real migration carries over.
      ['ip', 'link', 'add', 'keep0', 'type', 'veth', 'peer', 'name', 'keep1'],
      ['ip', 'link', 'set', 'keep0', 'master', CONTAINER_IF],
      ['ip', 'link', 'set', 'keep1', 'up'],
      ['ip', 'link', 'set', 'keep0', 'up'],
      ['ip', 'link', 'set', CONTAINER_IF, 'up'],
    ])]);
  }

  /**
   * One leg of a bridged container: a veth from the container's bridge to port `l.portName` of
   * node `l.node`'s bridge. The container's end is left down: the port exists on the bridge but
   * has no carrier until the leg comes up.
   */
  private async plugLeg(c: ContainerRecord, l: StandbyLink): Promise<void> {
    const n = this.nodeRecord(l.node);
    await run(['ip', 'link', 'add', l.portName, 'netns', n.namespace, 'type', 'veth', 'peer', 'name', l.leg, 'netns', c.namespace]);
    await runInNetns(c.namespace, ['sh', '-ec', shellScript([
      ['ethtool', '-K', l.leg, 'tx', 'off'],
      ['ip', 'link', 'set', l.leg, 'mtu', String(c.mtu)],
      ['ip', 'link', 'set', l.leg, 'master', CONTAINER_IF],
    ])]);
    await runInNetns(n.namespace, ['sh', '-ec', shellScript([
      ['ethtool', '-K', l.portName, 'tx', 'off'],
      ['ip', 'link', 'set', l.portName, 'mtu', String(c.mtu)],
      ['ip', 'link', 'set', l.portName, 'up'],
    ])]);
    const argv = ['ovs-vsctl', `--db=${n.ovsdbTarget}`, '--timeout=30', '--', 'add-port', l.bridge, l.portName];
    if (l.ofport !== null) argv.push('--', 'set', 'Interface', l.portName, `ofport_request=${l.ofport}`);
    try {
      await run(argv, { env: ovsEnvFor(n.dir) });
    } catch (e) {
      throw new Error(`testbed: cannot plug container ${c.name} into bridge ${l.bridge} of node ${n.name} (the overlay bridge is made by provisioning): ${(e as Error).message}`);
    }
  }

  /** Removes a leg's port from its node's bridge and deletes the veth (both ends). */
  private async unplugLeg(l: { node: string; bridge: string; portName: string }): Promise<void> {
    const n = this.record.nodes[l.node];
    if (!n) return;
    const wait = n.vswitchdPid !== null && isAlive(n.vswitchdPid) ? [] : ['--no-wait'];
    await run(['ovs-vsctl', `--db=${n.ovsdbTarget}`, '--timeout=30', ...wait, '--if-exists', 'del-port', l.bridge, l.portName], { env: ovsEnvFor(n.dir) });
    await runInNetns(n.namespace, ['ip', 'link', 'del', l.portName]).catch((e: Error) => {
      if (!/Cannot find device|does not exist/.test(e.message)) throw e;
    });
  }

  /**
   * Prepares a bridged container's move to `toNode`: a second leg into that node's bridge, its
   * port added now (with `ofport_request`), the container's end down, so the port exists but has
   * no carrier. `switchToStandby` then moves the container with one link flip. A standby that
   * exists already elsewhere is replaced.
   */
  async prepareStandby(name: string, toNode: string, opts: Pick<MoveOptions, 'portName' | 'ofport' | 'bridge'> = {}): Promise<StandbyLink> {
    this.assertUp();
    const c = this.container(name);
    if (!c.bridged) throw new Error(`testbed: container "${name}" was not made with bridged: true; a standby link needs a bridge inside it`);
    const n = this.nodeRecord(toNode);
    const portName = opts.portName ?? c.portName;
    checkIfname('port name', portName);
    checkOfport(opts.ofport);
    const bridge = opts.bridge ?? n.bridge;
    const ofport = opts.ofport ?? c.ofport;
    if (n.name === c.node && portName === c.portName) throw new Error(`testbed: container "${name}" is at ${toNode} port ${portName} already`);
    const s = c.standby;
    if (s && s.node === n.name && s.portName === portName && s.bridge === bridge && s.ofport === ofport) return { ...s };
    if (s) await this.dropStandby(name);
    const l: StandbyLink = { node: n.name, bridge, portName, ofport, leg: freeLeg(c) };
    c.standby = l;
    this.save();
    try {
      await this.plugLeg(c, l);
    } catch (e) {
      await this.unplugLeg(l).catch(() => {});
      c.standby = null;
      this.save();
      throw e;
    }
    return { ...l };
  }

  /** Removes a bridged container's standby link, if any. */
  async dropStandby(name: string): Promise<void> {
    const c = this.container(name);
    const s = c.standby;
    if (!s) return;
    await this.unplugLeg(s);
    c.standby = null;
    this.save();
  }

  /** A bridged container's standby link (null: none). */
  standby(name: string): StandbyLink | null {
    const s = this.container(name).standby;
    return s ? { ...s } : null;
  }

  /**
   * Cuts a bridged container's link in use (its leg down: the port stays on the bridge, without
   * carrier). Returns when `ip` has done it (CLOCK_MONOTONIC ms).
   */
  async cutLink(name: string): Promise<number> {
    this.assertUp();
    const c = this.container(name);
    if (!c.bridged || !c.leg) throw new Error(`testbed: container "${name}" is not bridged: its link cannot be cut without removing it`);
    // `ip -n` enters the namespace itself: one process, no `ip netns exec` wrapper.
    await run(['ip', '-n', c.namespace, 'link', 'set', c.leg, 'down']);
    return monotonicNow();
  }

  /**
   * Moves a bridged container to its standby link: the leg in use goes down (if `cutLink` did not
   * already) and the standby leg comes up, in one `ip -batch`. The old link becomes the standby
   * (down, its port left on the old bridge), so moving back is another flip.
   */
  async switchToStandby(name: string): Promise<LinkFlip> {
    this.assertUp();
    const c = this.container(name);
    const s = c.standby;
    if (!c.bridged || !c.leg) throw new Error(`testbed: container "${name}" is not bridged: it has no standby link`);
    if (!s) throw new Error(`testbed: container "${name}" has no standby link: prepareStandby first`);
    const startAt = monotonicNow();
    await run(['ip', '-n', c.namespace, '-batch', '-'], { input: `link set ${c.leg} down\nlink set ${s.leg} up\n` });
    const upAt = monotonicNow();
    const old: StandbyLink = { node: c.node, bridge: c.bridge, portName: c.portName, ofport: c.ofport, leg: c.leg };
    c.node = s.node;
    c.bridge = s.bridge;
    c.portName = s.portName;
    c.ofport = s.ofport;
    c.leg = s.leg;
    c.standby = old;
    this.save();
    return { startAt, downAt: upAt, upAt };
  }

  /** Takes the veth out of the bridge and deletes it (the container's eth0 goes with it). */
  private async unplug(c: ContainerRecord): Promise<void> {
    const n = this.nodeRecord(c.node);
    // Waiting for ovs-vswitchd to apply the change would hang if it is gone (e.g. a crash test).
    const wait = n.vswitchdPid !== null && isAlive(n.vswitchdPid) ? [] : ['--no-wait'];
    await run(['ovs-vsctl', `--db=${n.ovsdbTarget}`, '--timeout=30', ...wait, '--if-exists', 'del-port', c.bridge, c.portName], { env: ovsEnvFor(n.dir) });
    await runInNetns(n.namespace, ['ip', 'link', 'del', c.portName]).catch((e: Error) => {
      if (!/Cannot find device|does not exist/.test(e.message)) throw e;
    });
  }

  /** Kills the container's processes and removes it. */
  async removeContainer(name: string): Promise<void> {
    this.assertUp();
    const c = this.container(name);
    await stopProcesses(pidsInNetns([c.namespace]).get(c.namespace) ?? [], []);
    if (c.standby) await this.unplugLeg(c.standby);
    if (this.record.nodes[c.node]) await this.unplug(c);
    if (netnsExists(c.namespace)) await run(['ip', 'netns', 'del', c.namespace]);
    delete this.record.containers[name];
    this.record.namespaces = this.record.namespaces.filter((ns) => ns !== c.namespace);
    this.save();
  }

  /**
   * Moves a container to another node: unplugs it from the old bridge, deletes the veth, makes a
   * new one into the new node's bridge with the same MAC and address, in the same namespace, so
   * its processes keep running (freeze them around the move for a live-migration).
   */
  async moveContainer(name: string, toNode: string, opts: MoveOptions = {}): Promise<void> {
    this.assertUp();
    const c = this.container(name);
    const n = this.nodeRecord(toNode);
    const portName = opts.portName ?? c.portName;
    checkIfname('port name', portName);
    checkOfport(opts.ofport);
    // A re-plug leaves no second link behind: prepareStandby makes one again when wanted.
    if (c.standby) await this.dropStandby(name);
    await this.unplug(c);
    c.node = n.name;
    c.bridge = opts.bridge ?? n.bridge;
    c.portName = portName;
    if (opts.ofport !== undefined) c.ofport = opts.ofport;
    this.save();
    await this.plug(c, n, opts.announce ?? true);
  }

  /** Runs a command in the container; rejects with stderr on non-zero exit. */
  async execInContainer(name: string, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertUp();
    return runInNetns(this.container(name).namespace, argv, opts);
  }

  /** Starts a long-running command in the container (a server, a client); down() kills it. */
  spawnInContainer(name: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    this.assertUp();
    const c = this.container(name);
    if (argv.length === 0) throw new Error('testbed: spawnInContainer: empty command');
    const child = spawn('ip', ['netns', 'exec', c.namespace, ...argv], { stdio: 'pipe', ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Processes running in the container's namespace. */
  containerPids(name: string): number[] {
    const c = this.container(name);
    return pidsInNetns([c.namespace]).get(c.namespace) ?? [];
  }

  /** SIGSTOPs every process of the container; returns their pids. */
  async freeze(name: string): Promise<number[]> {
    this.assertUp();
    const stopped = new Set<number>();
    // Scan again after stopping: a process may have forked while we signalled.
    for (let round = 0; round < 5; round++) {
      const fresh = this.containerPids(name).filter((p) => !stopped.has(p));
      if (fresh.length === 0) break;
      for (const p of fresh) {
        try {
          process.kill(p, 'SIGSTOP');
          stopped.add(p);
        } catch {
          // exited meanwhile
        }
      }
      await sleep(5);
    }
    return [...stopped];
  }

  /** SIGCONTs every process of the container; returns their pids. */
  async thaw(name: string): Promise<number[]> {
    this.assertUp();
    const pids = this.containerPids(name);
    for (const p of pids) {
      try {
        process.kill(p, 'SIGCONT');
      } catch {
        // exited meanwhile
      }
    }
    return pids;
  }

  // ---- status and teardown ----

  status(): Promise<TestbedStatus> {
    return runStatus(this.record);
  }

  /**
   * Hands the run over to whoever holds its record (the CLI's state file): it survives this
   * process and `cleanupStale` may remove it.
   */
  detach(): void {
    this.record.owner = null;
    this.save();
    unregisterExitTeardown(this.record.runId);
  }

  /** Removes everything the run made. Safe to call again (later calls wait for the first). */
  down(): Promise<void> {
    this.downing ??= (async () => {
      for (const child of this.children) child.kill('SIGKILL');
      try {
        await teardown(targetOf(this.record));
      } finally {
        if (this.owner) unregisterExitTeardown(this.record.runId);
      }
    })();
    return this.downing;
  }
}

/** A leg name not used by the container's other leg. */
function freeLeg(c: ContainerRecord): string {
  const used = new Set([c.leg, c.standby?.leg]);
  for (const name of ['leg0', 'leg1', 'leg2']) if (!used.has(name)) return name;
  throw new Error(`testbed: container ${c.name} has no free leg name`);
}

const monotonicNow = (): number => Number(process.hrtime.bigint()) / 1e6;

function checkOfport(ofport: number | undefined): void {
  if (ofport !== undefined && (!Number.isInteger(ofport) || ofport < 1 || ofport > 0xfeff)) {
    throw new Error(`testbed: OpenFlow port ${ofport} is not 1 to 65279`);
  }
}

/** Brings up a testbed (see Testbed.up). */
export function up(topology: ResolvedTopology, options: TestbedOptions = {}): Promise<Testbed> {
  return Testbed.up(topology, options);
}

/** Health of a run, from its record (works from any process). */
export async function runStatus(record: RunRecord): Promise<TestbedStatus> {
  const nodes: NodeStatus[] = await Promise.all(
    Object.values(record.nodes).map(async (n) => {
      const problems: string[] = [];
      const namespaceExists = netnsExists(n.namespace);
      if (!namespaceExists) problems.push(`namespace ${n.namespace} is missing`);
      const alive = (pid: number | null) => pid !== null && isAlive(pid);
      const ovsdbServer = { pid: n.ovsdbServerPid, alive: alive(n.ovsdbServerPid) };
      const vswitchd = { pid: n.vswitchdPid, alive: alive(n.vswitchdPid) };
      if (!ovsdbServer.alive) problems.push(`ovsdb-server${n.ovsdbServerPid ? ` (pid ${n.ovsdbServerPid})` : ''} is not running`);
      if (!vswitchd.alive) problems.push(`ovs-vswitchd${n.vswitchdPid ? ` (pid ${n.vswitchdPid})` : ''} is not running`);
      let ovsdbReachable = false;
      try {
        const dbs = await daemonCall(dbSocket(n.dir), 'list_dbs', [], 2000);
        ovsdbReachable = Array.isArray(dbs) && dbs.includes('Open_vSwitch');
      } catch (e) {
        if (ovsdbServer.alive) problems.push(`OVSDB does not answer: ${(e as Error).message}`);
      }
      let vswitchdReachable = false;
      if (n.vswitchdPid !== null) {
        try {
          await daemonCall(vswitchdCtl(n.dir, n.vswitchdPid), 'version', [], 2000);
          vswitchdReachable = true;
        } catch (e) {
          if (vswitchd.alive) problems.push(`ovs-vswitchd does not answer: ${(e as Error).message}`);
        }
      }
      return {
        node: n.name,
        namespace: n.namespace,
        namespaceExists,
        underlayIp: n.underlayIp,
        ovsdbServer,
        vswitchd,
        ovsdbReachable,
        vswitchdReachable,
        problem: problems.length ? problems.join('; ') : null,
      };
    }),
  );
  const containerPids = pidsInNetns(Object.values(record.containers).map((c) => c.namespace));
  const containers: ContainerStatus[] = Object.values(record.containers).map((c) => ({
    name: c.name,
    namespace: c.namespace,
    namespaceExists: netnsExists(c.namespace),
    node: c.node,
    portName: c.portName,
    pids: containerPids.get(c.namespace) ?? [],
  }));
  return {
    runId: record.runId,
    runDir: record.runDir,
    healthy: nodes.every((n) => n.problem === null) && netnsExists(record.underlay.namespace),
    nodes,
    containers,
  };
}

/** Tears down a run from its record (another process's run, e.g. CLI `down`). */
export async function downRun(record: RunRecord): Promise<void> {
  const current = loadRecord(record.runDir) ?? record;
  if (ownerAlive(current) && current.owner!.pid !== process.pid) {
    throw new Error(`testbed ${current.runId} is owned by running process ${current.owner!.pid}; stop that process instead`);
  }
  await teardown(targetOf(current));
}

let environmentChecked = false;

/** Root, and every tool the testbed runs, present: one clear message instead of a failure midway. */
async function checkEnvironment(): Promise<void> {
  if (environmentChecked) return;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('testbed: needs root (network namespaces, veths, bridges)');
  }
  const tools = ['ip', 'ethtool', 'sysctl', 'ping', 'ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl'];
  const { stdout } = await run(['sh', '-c', 'for t in "$@"; do command -v "$t" >/dev/null || echo "$t"; done', 'sh', ...tools]);
  const missing = stdout.split('\n').filter(Boolean);
  if (missing.length) {
    throw new Error(`testbed: missing tools: ${missing.join(', ')} (Debian: apt-get install openvswitch-switch iproute2 ethtool procps iputils-ping)`);
  }
  environmentChecked = true;
}
