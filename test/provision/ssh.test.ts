// The ssh provider against a real OpenSSH server on loopback: OVSDB through the forwarded unix
// socket, commands over SSH, and strict host key checking.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { provisionCommand, deprovisionCommand, EXIT_NODE_FAILED } from '../../controller/commands/provision.js';
import { NodeExecError } from '../../controller/provision/node-access.js';
import { runProvisioning } from '../../controller/provision/run.js';
import { SshProvider } from '../../controller/provision/ssh.js';
import { resolveTopology } from '../../src/topology/load.js';
import { TestNode, topologyJson, vsctl } from './helpers.js';
import { keygen, startSshd, type SshdFixture } from './sshd.js';

const run = promisify(execFile);

let sshd: SshdFixture;
t.before(async () => {
  sshd = await startSshd(t);
});

/** line-3 with sw1 reachable over SSH at the test's sshd, the others at addresses never used. */
function topologyText(): string {
  const json = topologyJson('line-3.json');
  delete json.$schema;
  json.nodes.sw1.underlay_ip = '127.0.0.1';
  json.nodes.sw1.ssh = { user: sshd.user, port: sshd.port, key: sshd.userKey };
  json.nodes.h1.underlay_ip = '192.0.2.1';
  json.nodes.h2.underlay_ip = '192.0.2.2';
  return JSON.stringify(json, null, 2);
}

async function writeTopology(name = 'topo.json'): Promise<string> {
  const file = path.join(sshd.dir, name);
  await writeFile(file, topologyText());
  return file;
}

async function cli(cmd: typeof provisionCommand, args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await cmd.run(args, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { status, out, err };
}

const hostName = () => `[127.0.0.1]:${sshd.port}`;

t.test('provision over SSH through the unix socket; again: up to date; deprovision', async (t) => {
  const node = await TestNode.start(t, 'sw1');
  const topo = await writeTopology();
  const kh = await sshd.knownHosts('known_hosts.ok', [`${hostName()} ${sshd.hostKeyLine}`]);
  const args = ['--topology', topo, '--provider', 'ssh', '--known-hosts', kh, '--ovsdb', `unix:${node.server.socket}`, '--node', 'sw1'];

  const r1 = await cli(provisionCommand, args);
  t.equal(r1.status, 0, r1.out + r1.err);
  t.match(r1.out, /with the ssh provider: 1 node\n +sw1 +6 created, 0 updated, 0 removed \(\d+ operations in one transaction/);
  t.same((await vsctl(node.server, 'list-ports', 'sw1_br')).split('\n').sort(), ['vx-h1', 'vx-h2']);
  t.equal(await vsctl(node.server, 'get', 'Bridge', 'sw1_br', 'datapath_type'), 'system', 'ssh default: kernel datapath');
  // The ssh provider does not set local_ip (the address may be a NAT'd one).
  t.match(await vsctl(node.server, 'get', 'Interface', 'vx-h1', 'options'), /^\{key="\d+", remote_ip="192\.0\.2\.1"\}$/);
  t.equal(await vsctl(node.server, 'get-controller', 'sw1_br'), 'tcp:127.0.0.1:6633');

  const r2 = await cli(provisionCommand, [...args, '--json']);
  t.equal(r2.status, 0);
  const report = JSON.parse(r2.out);
  t.equal(report.nodes[0].status, 'up-to-date');
  t.equal(report.nodes[0].operations, 0);
  t.match(report.nodes[0].ovsdb, new RegExp(`^unix:${node.server.socket} via ssh ${sshd.user}@127\\.0\\.0\\.1:${sshd.port}$`));

  const d = await cli(deprovisionCommand, args);
  t.equal(d.status, 0, d.out + d.err);
  t.match(d.out, /sw1 +0 created, 0 updated, 6 removed/);
  t.equal(await vsctl(node.server, 'list-br'), '');
});

t.test('a host key that differs from known_hosts is refused and nothing changes', async (t) => {
  const node = await TestNode.start(t, 'sw1');
  const topo = await writeTopology();
  const other = path.join(sshd.dir, 'other_host_key');
  await keygen(other);
  const { stdout: otherLine } = await run('cat', [`${other}.pub`]);
  const kh = await sshd.knownHosts('known_hosts.wrong', [`${hostName()} ${otherLine.split(' ').slice(0, 2).join(' ')}`]);
  const { stdout: otherFp } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${other}.pub`]);

  const r = await cli(provisionCommand, ['--topology', topo, '--provider', 'ssh', '--known-hosts', kh, '--ovsdb', `unix:${node.server.socket}`, '--node', 'sw1']);
  t.equal(r.status, EXIT_NODE_FAILED);
  t.match(r.out, `sw1   FAILED: reaching the node: HOST KEY MISMATCH for ${hostName()}: it presented ssh-ed25519 key ${sshd.hostFingerprint}, but ${kh} has ssh-ed25519 ${otherFp.split(' ')[1]} (${kh}:1)`);
  t.match(r.out, /1 node: 1 FAILED/);
  t.equal(await vsctl(node.server, 'list-br'), '', 'nothing created on the refused node');
});

t.test('an unknown host is refused, naming the host and its fingerprint', async (t) => {
  const node = await TestNode.start(t, 'sw1');
  const topo = await writeTopology();
  // The right key, but listed for port 22 only: [127.0.0.1]:PORT is another host to SSH.
  const kh = await sshd.knownHosts('known_hosts.port22', [`127.0.0.1 ${sshd.hostKeyLine}`]);
  const r = await cli(provisionCommand, ['--topology', topo, '--provider', 'ssh', '--known-hosts', kh, '--ovsdb', `unix:${node.server.socket}`, '--node', 'sw1']);
  t.equal(r.status, EXIT_NODE_FAILED);
  t.match(r.out, `host ${hostName()} is not in ${kh}; it presented ssh-ed25519 key ${sshd.hostFingerprint}`);
  t.equal(await vsctl(node.server, 'list-br'), '');
});

t.test('hashed known_hosts entries (ssh-keygen -H) are understood', async (t) => {
  const node = await TestNode.start(t, 'sw1');
  const topo = resolveTopology(JSON.parse(topologyText()));
  const kh = await sshd.knownHosts('known_hosts.hashed', [`${hostName()} ${sshd.hostKeyLine}`]);
  await run('ssh-keygen', ['-q', '-H', '-f', kh]);
  const p = new SshProvider(topo, { knownHostsFile: kh, ovsdb: `unix:${node.server.socket}` });
  t.teardown(() => p.close());
  const access = await p.open('sw1');
  t.equal(access.node, 'sw1');
  await access.close!();
});

t.test('exec over SSH: quoting, exit status, stderr, timeout', async (t) => {
  const topo = resolveTopology(JSON.parse(topologyText()));
  const kh = await sshd.knownHosts('known_hosts.exec', [`${hostName()} ${sshd.hostKeyLine}`]);
  const p = new SshProvider(topo, { knownHostsFile: kh });
  t.teardown(() => p.close());
  const a = await p.open('sw1');
  const { stdout } = await a.exec(['printf', '%s|', "it's", 'a b', '$HOME', '', '*']);
  t.equal(stdout, "it's|a b|$HOME||*|", 'arguments arrive as given, unexpanded');
  const err = await t.rejects(a.exec(['sh', '-c', 'echo oops >&2; exit 7']));
  t.ok(err instanceof NodeExecError);
  t.equal((err as NodeExecError).status, 7);
  t.match((err as Error).message, /^sw1: `sh -c echo oops >&2; exit 7` exited with status 7: oops$/);
  await t.rejects(a.exec(['sleep', '5'], { timeoutMs: 200 }), /sw1: `sleep 5` did not finish within 200 ms/);
});

t.test('a key the node does not accept is reported as such', async (t) => {
  const topo = resolveTopology(JSON.parse(topologyText()));
  const kh = await sshd.knownHosts('known_hosts.auth', [`${hostName()} ${sshd.hostKeyLine}`]);
  const stranger = path.join(sshd.dir, 'stranger');
  await keygen(stranger);
  const p = new SshProvider(topo, { knownHostsFile: kh, addresses: { sw1: { key: stranger } } });
  t.teardown(() => p.close());
  await t.rejects(p.open('sw1'), new RegExp(`${sshd.user}@127\\.0\\.0\\.1:${sshd.port}: authentication with key ${stranger} refused`));
});

t.test('OVSDB straight over TCP (tcp:HOST:PORT) with commands over SSH', async (t) => {
  const topo = resolveTopology(JSON.parse(topologyText()));
  const kh = await sshd.knownHosts('known_hosts.tcp', [`${hostName()} ${sshd.hostKeyLine}`]);
  const node = await TestNode.start(t, 'sw1', { tcp: true });
  const p = new SshProvider(topo, { knownHostsFile: kh, ovsdb: node.server.tcpEndpoint! });
  t.teardown(() => p.close());
  const r = await runProvisioning(topo, p, { mode: 'provision', nodes: ['sw1'] });
  t.equal(r.nodes[0]!.status, 'changed', r.nodes[0]!.error ?? '');
  t.equal(r.nodes[0]!.ovsdb, node.server.tcpEndpoint);
  t.equal(await vsctl(node.server, 'list-br'), 'sw1_br');
});
