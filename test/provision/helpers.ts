// Shared pieces of the provisioning tests: topologies with underlay addresses, nodes made of a
// real ovsdb-server plus a stand-in for what ovs-vswitchd and `ip` do, and a provider over them.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { OvsdbClient } from '../../src/ovsdb/client.js';
import { cond, op } from '../../src/ovsdb/operations.js';
import { OvsdbSet, set, uuid, type Row } from '../../src/ovsdb/values.js';
import { resolveTopology } from '../../src/topology/load.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { NodeExecError, type NodeProvider, type ProvisionAccess } from '../../controller/provision/node-access.js';
import { connectClient, initOpenVswitchRow, startOvsdbServer, type OvsdbServerFixture, type OvsdbServerOptions, type TeardownHost } from '../ovsdb/fixture.js';
import { repoRoot } from '../util/paths.js';

const run = promisify(execFile);

/** A topology file as JSON (for editing before resolving). */
export function topologyJson(name: string): Record<string, any> {
  return JSON.parse(readFileSync(join(repoRoot(), 'topologies', name), 'utf8'));
}

/** Resolves `json` after giving every node an underlay address 192.0.2.<n> (TEST-NET-1: never reached). */
export function withUnderlay(json: Record<string, any>): ResolvedTopology {
  const copy = structuredClone(json);
  delete copy.$schema;
  Object.values(copy.nodes as Record<string, any>).forEach((n, i) => (n.underlay_ip ??= `192.0.2.${i + 1}`));
  return resolveTopology(copy);
}

/** `ovs-vsctl --db=unix:SOCK ARGS` (no ovs-vswitchd: --no-wait). */
export async function vsctl(server: OvsdbServerFixture, ...args: string[]): Promise<string> {
  const { stdout } = await run('ovs-vsctl', [`--db=unix:${server.socket}`, '--no-wait', '--timeout=10', ...args], { timeout: 15_000 });
  return stdout.trim();
}

interface FakeLink {
  up: boolean;
  inet: Array<{ ip: string; prefixLength: number; scope: string }>;
}

/**
 * One node for tests: a real ovsdb-server; a stand-in for ovs-vswitchd that gives every new
 * Interface its requested ofport and makes its "device"; an `exec` that understands the `ip`
 * commands provisioning runs, against those devices, and records every call.
 */
export class TestNode {
  /** Every command, with `sh -c 'a && b'` split into a and b. */
  readonly calls: string[][] = [];
  /** Every exec() call as made. */
  readonly execs: string[][] = [];
  readonly links = new Map<string, FakeLink>();
  /** Make the stand-in report this error for interfaces (ovs-vswitchd failing to create them). */
  failInterfaces: string | null = null;

  private constructor(
    readonly name: string,
    readonly server: OvsdbServerFixture,
  ) {}

  static async start(t: TeardownHost, name: string, options: { vswitchd?: boolean; tcp?: boolean; ssl?: OvsdbServerOptions['ssl'] } = {}): Promise<TestNode> {
    const server = await startOvsdbServer(t, { tcp: !!options.tcp, ...(options.ssl ? { ssl: options.ssl } : {}) });
    const node = new TestNode(name, server);
    const client = await connectClient(t, server.unixEndpoint, { reconnect: false });
    client.on('error', () => undefined);
    await initOpenVswitchRow(client);
    if (options.vswitchd !== false) await node.simulateVswitchd(client);
    return node;
  }

  private async simulateVswitchd(client: OvsdbClient): Promise<void> {
    await client.monitor('Open_vSwitch', { Interface: { columns: ['name', 'ofport_request', 'ofport'] } }, (ev) => {
      for (const c of ev.changes) {
        if (c.type === 'delete') {
          this.links.delete(String(c.old!.name));
          continue;
        }
        const row = c.new!;
        const name = String(row.name);
        const ofport = row.ofport as OvsdbSet;
        if (ofport.size > 0) continue;
        const requested = (row.ofport_request as OvsdbSet).values[0];
        const update: Row = this.failInterfaces
          ? { error: set(this.failInterfaces), ofport: set(-1) }
          : { ofport: set(typeof requested === 'number' ? requested : 1000) };
        if (!this.failInterfaces) this.links.set(name, { up: false, inet: [] });
        client.transact('Open_vSwitch', [op.update('Interface', [cond('_uuid', '==', uuid(c.uuid))], update)]).catch(() => undefined);
      }
    });
  }

  exec = async (argv: string[]): Promise<{ stdout: string; stderr: string }> => {
    this.execs.push(argv);
    if (argv[0] === 'sh' && argv[1] === '-c' && argv.length === 3) {
      // Only what provisioning sends: commands of plain words joined by &&.
      for (const part of argv[2]!.split(' && ')) await this.run(part.split(' '));
      return { stdout: '', stderr: '' };
    }
    return this.run(argv);
  };

  private run = async (argv: string[]): Promise<{ stdout: string; stderr: string }> => {
    this.calls.push(argv);
    const fail = (msg: string) => {
      throw new NodeExecError(this.name, argv, 1, msg);
    };
    const link = (ifname: string) => this.links.get(ifname) ?? fail(`Device "${ifname}" does not exist.`);
    const a = argv.join(' ');
    let m: RegExpExecArray | null;
    if ((m = /^ip -j addr show dev (\S+)$/.exec(a))) {
      const l = link(m[1]!);
      const addr_info = l.inet.map((x) => ({ family: 'inet', local: x.ip, prefixlen: x.prefixLength, scope: x.scope }));
      return { stdout: JSON.stringify([{ ifname: m[1], flags: l.up ? ['BROADCAST', 'UP'] : ['BROADCAST'], addr_info }]), stderr: '' };
    }
    if ((m = /^ip addr (replace|del) (\S+)\/(\d+) dev (\S+)$/.exec(a))) {
      const l = link(m[4]!);
      const [ip, len] = [m[2]!, Number(m[3])];
      const rest = l.inet.filter((x) => !(x.ip === ip && x.prefixLength === len));
      if (m[1] === 'del' && rest.length === l.inet.length) fail('RTNETLINK answers: Cannot assign requested address');
      l.inet = m[1] === 'replace' ? [...rest, { ip, prefixLength: len, scope: 'global' }] : rest;
      return { stdout: '', stderr: '' };
    }
    if ((m = /^ip link set dev (\S+) up$/.exec(a))) {
      link(m[1]!).up = true;
      return { stdout: '', stderr: '' };
    }
    return fail(`the test's exec does not know \`${a}\``);
  };

  /** Calls that changed something (everything but reads). */
  get writes(): string[] {
    return this.calls.map((c) => c.join(' ')).filter((c) => !c.startsWith('ip -j addr show'));
  }

  access(underlayIp: string): ProvisionAccess {
    // Over TLS when the server listens with it (the stand-in vswitchd keeps the unix socket).
    return { node: this.name, underlayIp, ovsdbTarget: this.server.sslEndpoint ?? this.server.unixEndpoint, exec: this.exec, ovsEnv: {} };
  }
}

/** A provider over TestNodes (a node without one fails to open, like an unreachable machine). */
export class TestProvider implements NodeProvider {
  readonly name = 'test';
  readonly defaultDatapathType = 'netdev' as const;
  readonly underlayIsLocal = true;
  constructor(
    private readonly topology: ResolvedTopology,
    readonly nodes: Record<string, TestNode>,
  ) {}
  underlayIp(node: string): string | null {
    return this.topology.nodes[node]?.underlayIp ?? null;
  }
  async open(node: string): Promise<ProvisionAccess> {
    const n = this.nodes[node];
    if (!n) throw new Error(`no test node ${node}`);
    return n.access(this.underlayIp(node)!);
  }
  async close(): Promise<void> {}
}

export async function startNodes(t: TeardownHost, topology: ResolvedTopology, options: { vswitchd?: boolean } = {}): Promise<Record<string, TestNode>> {
  const names = Object.keys(topology.nodes);
  const nodes = await Promise.all(names.map((n) => TestNode.start(t, n, options)));
  return Object.fromEntries(names.map((n, i) => [n, nodes[i]!]));
}
