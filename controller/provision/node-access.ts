/**
 * How provisioning reaches one node: its OVSDB and a way to run the few commands OVSDB cannot
 * do (addresses on the internal port). The network-namespace testbed (testbed/) and the
 * SSH provider (./ssh.ts) both hand out objects of this shape.
 */
import { execFile } from 'node:child_process';
import type { DuplexFactory } from '../../src/ovsdb/transport.js';
import type { ControllerAddress } from '../../src/topology/types.js';

export interface ExecOptions {
  /** Kill the command after this many ms (default: the provider's, typically 10 s). */
  timeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface NodeAccess {
  node: string;
  /** Underlay address: the VXLAN remote end peers use to reach this node. */
  underlayIp: string;
  /** The node's OVSDB, e.g. `unix:/tmp/.../db.sock` or `tcp:HOST:6640`. */
  ovsdbTarget: string;
  /**
   * Runs argv on the node (no shell). Resolves with its output when it exits 0; rejects with
   * an Error naming the command, the exit status and stderr otherwise.
   */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Environment for OVS tools on the node (OVS_RUNDIR, ...), as the provider knows it. */
  ovsEnv: Record<string, string>;
}

/**
 * What a provider may add to NodeAccess. Optional, so the testbed's plain NodeAccess objects
 * fit as they are.
 */
export interface ProvisionAccess extends NodeAccess {
  /**
   * Opens a stream to the node's OVSDB (an SSH-forwarded unix socket, say). When absent,
   * `ovsdbTarget` is connected to directly.
   */
  openOvsdb?: DuplexFactory;
  /** Where the OVSDB is, for messages, when `openOvsdb` is used (e.g. `ssh root@h1 unix:/var/run/openvswitch/db.sock`). */
  ovsdbLabel?: string;
  /** Releases what opening the node took (an SSH connection). */
  close?(): Promise<void>;
}

/**
 * A source of NodeAccess. `open` is called once per node, concurrently for all nodes; a
 * rejection fails that node only (its error is reported for that node).
 */
export interface NodeProvider {
  /** 'netns', 'ssh', ... (for reports). */
  readonly name: string;
  /** Underlay address of a node as this provider knows it (also for nodes not being provisioned). */
  underlayIp(node: string): string | null;
  /** Datapath type this provider's nodes use unless told otherwise. */
  readonly defaultDatapathType: 'netdev' | 'system';
  /** Whether the underlay address is configured on the node itself (so it can be options:local_ip). */
  readonly underlayIsLocal: boolean;
  /** The controller target nodes of this provider can reach, for the topology's controller address (default: its target). */
  controllerTarget?(controller: ControllerAddress, node: string): string;
  open(node: string): Promise<ProvisionAccess>;
  /** Releases everything (also what open() left behind when a node failed). */
  close(): Promise<void>;
}

/** Quotes one argument for a POSIX shell (`sh -c`, and commands sent over SSH). */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Error of a command that ran on a node and failed. */
export class NodeExecError extends Error {
  override name = 'NodeExecError';
  constructor(
    readonly node: string,
    readonly argv: readonly string[],
    readonly status: number | string | null,
    readonly stderr: string,
    message?: string,
  ) {
    super(message ?? `${node}: \`${argv.join(' ')}\` ${describeStatus(status)}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }
}

function describeStatus(status: number | string | null): string {
  if (typeof status === 'number') return `exited with status ${status}`;
  if (typeof status === 'string') return `was killed by ${status}`;
  return 'failed';
}

/**
 * exec() for commands run on this machine, optionally behind a prefix such as
 * `['ip', 'netns', 'exec', NS]` (that is how namespace nodes run things).
 */
export function localExec(node: string, prefix: readonly string[] = [], env: Record<string, string> = {}, defaultTimeoutMs = 10_000): NodeAccess['exec'] {
  return (argv, opts = {}) => {
    const full = [...prefix, ...argv];
    if (full.length === 0) return Promise.reject(new Error(`${node}: exec of an empty command`));
    const timeout = opts.timeoutMs ?? defaultTimeoutMs;
    return new Promise<ExecResult>((resolve, reject) => {
      execFile(full[0]!, full.slice(1), { env: { ...process.env, ...env }, timeout, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; signal?: string; killed?: boolean };
        if (e.killed && e.signal) {
          return reject(new NodeExecError(node, argv, e.signal, stderr, `${node}: \`${argv.join(' ')}\` did not finish within ${timeout} ms`));
        }
        if (typeof e.code === 'string') {
          return reject(new NodeExecError(node, argv, null, stderr, `${node}: cannot run \`${full.join(' ')}\`: ${e.message}`));
        }
        reject(new NodeExecError(node, argv, typeof e.code === 'number' ? e.code : (e.signal ?? null), stderr));
      });
    });
  };
}
