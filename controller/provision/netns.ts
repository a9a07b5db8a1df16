/**
 * The `netns` node provider: the nodes of a running emulated testbed (testbed/), each a
 * network namespace with its own ovsdb-server and ovs-vswitchd (userspace datapath). Nodes are
 * reached through the testbed's NodeAccess; the underlay addresses and the controller address
 * the namespaces can reach come from the testbed.
 */
import { readState, stateFilePath, defaultStateDir, Testbed, type NodeAccess } from '../../testbed/index.js';
import type { ControllerAddress } from '../../src/topology/types.js';
import type { NodeProvider, ProvisionAccess } from './node-access.js';
import { runChecked, ShellRunner } from './shell-runner.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/i;

/** What the provider needs of a testbed (a Testbed, or anything shaped like it in tests). */
export interface TestbedLike {
  readonly runId: string;
  readonly underlay: { gateway: string | null };
  readonly nodes: readonly NodeAccess[];
  node(name: string): NodeAccess & { namespace: string };
}

export interface NetnsProviderOptions {
  /**
   * Run commands through a few long-lived shells (ShellRunner) rather than one child process of
   * ours per command, which stalls our event loop while it starts. Default true.
   */
  sharedShells?: boolean;
  /** Default timeout of commands, ms (default 10000). */
  execTimeoutMs?: number;
}

export class NetnsProvider implements NodeProvider {
  readonly name = 'netns';
  /** Namespaces have no OVS kernel datapath of their own: the testbed runs OVS in userspace. */
  readonly defaultDatapathType = 'netdev' as const;
  /**
   * The underlay address sits on the node's br-phy, but no tunnel names it (options:local_ip):
   * the testbed's ovs-vswitchd routes tunnels by its own table, not the kernel's (see
   * testbed/ovs.ts startVswitchdDaemon, issue 17), and OVS accepts a tunnel's local_ip only as
   * one of the kernel's local routes. Each node has one underlay address: OVS picks it anyway.
   */
  readonly underlayIsLocal = false;
  private readonly byName: Map<string, NodeAccess>;
  private runner: ShellRunner | undefined;

  constructor(
    private readonly bed: TestbedLike,
    private readonly options: NetnsProviderOptions = {},
  ) {
    this.byName = new Map(bed.nodes.map((n) => [n.node, n]));
  }

  underlayIp(node: string): string | null {
    return this.byName.get(node)?.underlayIp ?? null;
  }

  /**
   * A controller on a loopback address is on this machine, which a namespace reaches through
   * the testbed's gateway address (the controller must listen on it, e.g. on 0.0.0.0).
   */
  controllerTarget(c: ControllerAddress): string {
    const gw = this.bed.underlay.gateway;
    if (!gw || !LOOPBACK.test(c.host)) return c.target;
    return `${c.target.slice(0, c.target.indexOf(':'))}:${gw}:${c.port}`;
  }

  async open(node: string): Promise<ProvisionAccess> {
    const n = this.byName.get(node);
    if (!n) throw new Error(`node "${node}" is not part of testbed run ${this.bed.runId} (its nodes: ${[...this.byName.keys()].join(', ')})`);
    if (this.options.sharedShells === false) return n;
    // The testbed's exec is `ip netns exec NS ARGV` with the node's OVS environment: the same,
    // run by a shared shell; `ip` itself switches namespace with -n, which skips the mount
    // namespace `ip netns exec` sets up (the commands provisioning runs are all `ip`).
    const ns = this.bed.node(node).namespace;
    const runner = (this.runner ??= new ShellRunner());
    const timeout = this.options.execTimeoutMs ?? 10_000;
    return {
      node: n.node,
      underlayIp: n.underlayIp,
      ovsdbTarget: n.ovsdbTarget,
      ovsEnv: n.ovsEnv,
      exec: (argv, opts) => {
        const t = opts?.timeoutMs ?? timeout;
        if (argv[0] === 'ip') return runChecked(runner, node, ['ip', '-n', ns, ...argv.slice(1)], argv, undefined, t);
        return runChecked(runner, node, ['ip', 'netns', 'exec', ns, ...argv], argv, n.ovsEnv, t);
      },
    };
  }

  async close(): Promise<void> {
    this.runner?.close();
    this.runner = undefined;
  }
}

/**
 * The provider for the testbed that `vino-controller testbed up` started for `topologyName`
 * (its state file), or for the state file given.
 */
export function netnsProviderFromState(topologyName: string, stateFile?: string): NetnsProvider {
  const file = stateFile ?? stateFilePath(defaultStateDir(), topologyName);
  const state = readState(file);
  if (!state) {
    throw new Error(`no running testbed for topology "${topologyName}": ${file} does not exist (start one with \`vino-controller testbed up --topology FILE\`, or give its state file with --testbed-state)`);
  }
  return new NetnsProvider(Testbed.attach(state.record, state.topology));
}
