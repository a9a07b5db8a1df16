/**
 * An overlay on the embedded testbed, ready for migrations: the nodes up (testbed/), the
 * overlay provisioned through OVSDB (controller/provision) with a controller target on the
 * testbed's gateway, the topology's containers plugged in, and helpers to run the probe
 * programs in them and to drive the nodes' OVS tools. Used by the bench, the demo and the
 * tests.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NetnsProvider } from '../../controller/provision/netns.js';
import { formatRunReport, runProvisioning } from '../../controller/provision/run.js';
import { loadTopology } from '../../src/topology/load.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { Testbed, type TestbedOptions } from '../index.js';
import { childEnv, freePort, track } from './processes.js';

/** The repository root (this file runs from dist/testbed/workload/). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'topologies', 'line-3.json')) || !existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the repository (topologies/ and package.json) above this file');
    dir = up;
  }
  return dir;
}

/** The compiled program `dist/testbed/workload/<name>.js`. */
export function probeProgram(name: 'probe-server' | 'probe-client'): string {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), `${name}.js`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
  return file;
}

export function topologyPath(name: string): string {
  return path.isAbsolute(name) || name.includes('/') ? path.resolve(name) : path.join(repoRoot(), 'topologies', name);
}

export interface AddContainerOptions {
  /** A bridge inside the container with veth legs, for the link-flip emulation (testbed ContainerOptions.bridged). */
  bridged?: boolean;
}

export interface OverlayOptions {
  /** Progress lines. */
  log?: (line: string) => void;
  testbed?: TestbedOptions;
}

export class Overlay {
  /** Where the controller must listen for the switches to reach it (the testbed's gateway). */
  readonly controllerHost: string;

  private constructor(
    readonly bed: Testbed,
    /** The topology as written (no underlay addresses): what the controller is given. */
    readonly topology: ResolvedTopology,
    readonly topologyFile: string,
    /** The port the bridges were provisioned to connect to. */
    readonly controllerPort: number,
    /** Folder for logs and state of this run (inside the testbed's run folder). */
    readonly dir: string,
    private readonly log: (line: string) => void,
  ) {
    this.controllerHost = bed.underlay.gateway!;
  }

  /**
   * Brings the testbed up and picks the controller port (on the testbed's gateway). Nothing is
   * provisioned yet: start the controller, then `provision()` and `addContainers()`, so the
   * bridges find their controller at once instead of after a reconnect backoff. On failure
   * everything made so far is removed before the error is thrown.
   */
  static async create(topologyFile: string, options: OverlayOptions = {}): Promise<Overlay> {
    const log = options.log ?? (() => {});
    const file = topologyPath(topologyFile);
    const topology = await loadTopology(file);
    const bed = await Testbed.up(topology, { log, ...options.testbed });
    try {
      const gw = bed.underlay.gateway;
      if (!gw) throw new Error('the testbed has no gateway: the controller on this machine could not be reached by the switches');
      const controllerPort = await freePort(gw);
      const dir = path.join(bed.runDir, 'migration');
      mkdirSync(dir, { recursive: true });
      return new Overlay(bed, topology, file, controllerPort, dir, log);
    } catch (err) {
      await bed.down().catch((e: Error) => {
        (err as Error).message += `\n(teardown after the failure: ${e.message})`;
      });
      throw err;
    }
  }

  /** Controller target the bridges are provisioned with. */
  get controllerTarget(): string {
    return `tcp:${this.controllerHost}:${this.controllerPort}`;
  }

  /** Provisions every node (bridges, tunnels, controller targets, overlay addresses) through OVSDB. */
  async provision(extraControllerTargets: readonly string[] = []): Promise<void> {
    const report = await runProvisioning(this.topology, new NetnsProvider(this.bed), {
      mode: 'provision',
      plan: { controllerTarget: this.controllerTarget, ...(extraControllerTargets.length > 0 ? { extraControllerTargets } : {}) },
    });
    if (!report.ok) throw new Error(`provisioning failed:\n${formatRunReport(report, { verbose: true })}`);
    this.log(`provisioned ${report.nodes.length} nodes in ${report.ms} ms (controller target ${this.controllerTarget})`);
  }

  /** Plugs in the topology's containers (default: all). */
  async addContainers(names: readonly string[] = Object.keys(this.topology.containers), options: AddContainerOptions = {}): Promise<void> {
    for (const name of names) await this.addContainer(name, options);
  }

  /** Plugs in a container of the topology at its place (MAC, IP, port name and number from the file). */
  async addContainer(name: string, options: AddContainerOptions = {}): Promise<void> {
    const c = this.topology.containers[name];
    if (!c) throw new Error(`topology "${this.topology.name}" has no container "${name}"`);
    await this.bed.addContainer(c.node, {
      name, mac: c.mac, ip: c.ip, prefixLength: this.topology.overlay.prefixLength,
      portName: c.port, ofport: c.ofport,
      // No announcement: the controller knows where the topology puts it; learning modes are
      // warmed up by the probes themselves.
      announce: false,
      ...(options.bridged ? { bridged: true } : {}),
    });
  }

  /** Where a container is now (node and port). */
  where(container: string): { node: string; portName: string; ofport: number | null } {
    const c = this.bed.containers.find((x) => x.name === container);
    if (!c) throw new Error(`no container "${container}" on the testbed`);
    return { node: c.node, portName: c.portName, ofport: c.ofport };
  }

  bridge(node: string): string {
    const n = this.topology.nodes[node];
    if (!n) throw new Error(`topology "${this.topology.name}" has no node "${node}"`);
    return n.bridge.name;
  }

  /** ovs-vsctl on a node (its own OVSDB). */
  async vsctl(node: string, ...args: string[]): Promise<string> {
    const n = this.bed.node(node);
    return (await n.exec(['ovs-vsctl', `--db=${n.ovsdbTarget}`, '--timeout=10', ...args])).stdout.trim();
  }

  /** ovs-ofctl -O OpenFlow13 on a node's overlay bridge. */
  async ofctl(node: string, command: string, ...args: string[]): Promise<string> {
    return (await this.bed.node(node).exec(['ovs-ofctl', '-O', 'OpenFlow13', command, this.bridge(node), ...args])).stdout;
  }

  /** ovs-appctl on a node's ovs-vswitchd. */
  async appctl(node: string, ...args: string[]): Promise<string> {
    const n = this.bed.node(node);
    const target = n.vswitchdCtl;
    return (await n.exec(['ovs-appctl', ...(target ? ['-t', target] : []), ...args])).stdout;
  }

  /** Runs on every node at once. */
  async everyNode<T>(fn: (node: string) => Promise<T>): Promise<T[]> {
    return Promise.all(Object.keys(this.topology.nodes).map(fn));
  }

  /**
   * Starts the probe service in a container (HTTP + UDP echo) and waits for it to listen.
   * Returns the child (`ip netns exec` replaced by node, so the pid is the server's).
   * `udpRcvbuf`: its UDP socket's SO_RCVBUF in bytes (default: the system's).
   */
  async startServer(container: string, ports: { http: number; udp: number; udpRcvbuf?: number; duplicateLog?: string }): Promise<ChildProcess> {
    const argv = [process.execPath, probeProgram('probe-server'), '--name', container, '--http-port', String(ports.http), '--udp-port', String(ports.udp)];
    if (ports.udpRcvbuf) argv.push('--udp-rcvbuf', String(ports.udpRcvbuf));
    if (ports.duplicateLog) argv.push('--duplicate-log', ports.duplicateLog);
    argv.push('--counters-file', this.probeCountersFile(container));
    const child = track(this.bed.spawnInContainer(container, argv, { env: childEnv() }));
    await waitForLine(child, (l) => l.includes('"ready":true'), 15_000, `probe server in ${container}`);
    return child;
  }

  /** The probe server's running totals in `container` (probe-server --counters-file). */
  probeCountersFile(container: string): string {
    return this.file(`probe-server-${container}.counters.json`);
  }

  /** A folder for files of this run. */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  down(): Promise<void> {
    return this.bed.down();
  }
}

/** Resolves with the first stdout line that `accept`s; rejects on exit or timeout, with stderr. */
export function waitForLine(child: ChildProcess, accept: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const rl = createInterface({ input: child.stdout! });
    const done = (err: Error | null, line?: string) => {
      clearTimeout(timer);
      rl.off('line', onLine);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(line!);
    };
    const onLine = (line: string) => {
      if (accept(line)) done(null, line);
    };
    const onExit = (code: number | null, signal: string | null) => done(new Error(`${what} exited (${signal ?? `status ${code}`}) before it was ready${stderr ? `: ${stderr.trim()}` : ''}`));
    const timer = setTimeout(() => done(new Error(`${what} not ready within ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`)), timeoutMs);
    rl.on('line', onLine);
    child.once('exit', onExit);
  });
}
