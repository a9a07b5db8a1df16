// provision / deprovision command lines: usage errors, invalid input, help, per-node failures.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { UsageError } from '../../controller/commands/command.js';
import { chooseProvider, deprovisionCommand, provisionCommand } from '../../controller/commands/provision.js';
import { resolveTopology } from '../../src/topology/load.js';
import { topologyJson } from './helpers.js';

const dir = await mkdtemp(path.join(os.tmpdir(), `vino-prov-cli-${process.pid}-`));
t.teardown(() => rm(dir, { recursive: true, force: true }));

async function cli(cmd: typeof provisionCommand, args: string[]) {
  const o = { out: '', err: '' };
  const status = await cmd.run(args, { out: (s) => void (o.out += s), err: (s) => void (o.err += s) });
  return { status, ...o };
}

t.test('usage errors', async (t) => {
  const topo = path.join(dir, 'ok.json');
  await writeFile(topo, JSON.stringify(topologyJson('line-3.json')));
  const bad: Array<[string[], RegExp]> = [
    [[], /missing --topology FILE/],
    [['--topology', topo, 'extra'], /unexpected argument "extra"/],
    [['--topology', topo, '--provider', 'vm'], /--provider: unknown provider "vm" \(auto, netns or ssh\)/],
    [['--topology', topo, '--node', 'h9'], /--node: no node "h9" in topology "line-3" \(nodes: sw1, h1, h2\)/],
    [['--topology', topo, '--provider', 'ssh', '--state-dir', dir], /--state-dir is an option of the netns provider/],
    [['--topology', topo, '--provider', 'netns', '--identity', 'k'], /--identity is an option of the ssh provider/],
    [['--topology', topo, '--controller', '10.0.0.1'], /--controller: "10\.0\.0\.1" is not host:port/],
    [['--topology', topo, '--extra-controller', 'x'], /--extra-controller: bad controller target "x"/],
    [['--topology', topo, '--datapath-type', 'dpdk'], /--datapath-type: expected netdev or system, got "dpdk"/],
    [['--topology', topo, '--timeout', '0'], /--timeout: expected a positive number of seconds/],
    [['--topology', topo, '--parallel', '1.5'], /--parallel: expected a whole number >= 1, got "1\.5"/],
    [['--topology', topo, '--ovsdb', 'ssl:h:1'], /--ovsdb ssl:h:1: TLS needs --ovsdb-key, --ovsdb-cert, --ovsdb-ca/],
    [['--topology', topo, '--ovsdb', 'ssl:6640', '--ovsdb-key', topo, '--ovsdb-cert', topo], /TLS needs --ovsdb-ca$/],
    [['--topology', topo, '--ovsdb', 'tcp:6640', '--ovsdb-ca', topo], /--ovsdb-ca is for an ssl: --ovsdb target/],
    [['--topology', topo, '--ovsdb', 'ssl:6640', '--ovsdb-key', topo, '--ovsdb-cert', topo, '--ovsdb-ca', topo], /--ovsdb-key: .* is not a PEM file/],
    [['--topology', topo, '--ovsdb', 'udp:h:1'], /--ovsdb: bad OVSDB endpoint/],
    [['--topology', topo, '--controller', 'ssl:10.0.0.1'], /--controller: "10\.0\.0\.1" is not host:port/],
  ];
  for (const [args, re] of bad) await t.rejects(provisionCommand.run(args, { out: () => {}, err: () => {} }), re, args.join(' '));
  await t.rejects(deprovisionCommand.run(['--topology', topo, '--controller', 'h:1'], { out: () => {}, err: () => {} }), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }, 'deprovision has no --controller');
  await t.rejects(provisionCommand.run([], { out: () => {}, err: () => {} }), UsageError);
  t.match(provisionCommand.help, /^Usage: vino-controller provision --topology FILE/);
  t.match(deprovisionCommand.help, /^Usage: vino-controller deprovision --topology FILE/);
});

t.test('an invalid topology is reported with positions, exit 1', async (t) => {
  const f = path.join(dir, 'bad.json');
  await writeFile(f, '{"name": "x", "nodes": {}}\n');
  const r = await cli(provisionCommand, ['--topology', f]);
  t.equal(r.status, 1);
  t.match(r.err, /the topology .*bad\.json is invalid/);
});

t.test('ssh provider without an underlay address or with an unreadable known_hosts', async (t) => {
  const f = path.join(dir, 'noaddr.json');
  await writeFile(f, JSON.stringify(topologyJson('line-3.json')));
  const r = await cli(provisionCommand, ['--topology', f, '--provider', 'ssh', '--identity', '/nonexistent', '--known-hosts', path.join(dir, 'kh')]);
  t.equal(r.status, 3);
  // Planning fails first: no node has an underlay address, so no tunnel can be planned.
  t.match(r.out, /sw1 +FAILED: planning: tunnel vx-h2 to h2: no underlay address known for node "h2"/);

  const json = topologyJson('line-3.json');
  Object.values(json.nodes as Record<string, any>).forEach((n, i) => (n.underlay_ip = `192.0.2.${i + 1}`));
  await writeFile(f, JSON.stringify(json));
  const r2 = await cli(provisionCommand, ['--topology', f, '--provider', 'ssh', '--identity', '/nonexistent', '--known-hosts', path.join(dir, 'kh'), '--node', 'h1']);
  t.equal(r2.status, 3);
  t.match(r2.out, /h1 +FAILED: reaching the node: cannot read private key \/nonexistent: no such file/);
});

t.test('--provider auto (the default) decides from the topology, or says what is missing', async (t) => {
  const stateDir = path.join(dir, 'no-testbed-state');
  const prev = process.env.TMPDIR;
  // The default state dir is under $TMPDIR: point it at a folder with no testbed in it.
  process.env.TMPDIR = path.join(dir, 'tmp');
  t.teardown(() => (prev === undefined ? delete process.env.TMPDIR : (process.env.TMPDIR = prev)));

  const f = path.join(dir, 'auto.json');
  await writeFile(f, JSON.stringify(topologyJson('line-3.json')));
  const none = await cli(provisionCommand, ['--topology', f]);
  t.equal(none.status, 1, 'stops before touching anything');
  t.equal(none.out, '');
  t.match(none.err, /^vino-controller provision: no way to reach the nodes of topology "line-3": sw1, h1, h2 have no underlay_ip, so SSH cannot reach them, and no testbed of this topology runs on this machine \(no .*tmp\/vino-testbed\/state\/line-3\.json\)\./);
  t.match(none.err, `vino-controller testbed up --topology ${f}, then run this again`, 'how to run it here, with the file named');
  t.match(none.err, /give every node an underlay_ip .* --provider ssh/);
  const down = await cli(deprovisionCommand, ['--topology', f]);
  t.equal(down.status, 1);
  t.match(down.err, /^vino-controller deprovision: no way to reach the nodes/);

  // --state-dir names a testbed: netns (whose own error says the testbed is not there).
  const netns = await cli(provisionCommand, ['--topology', f, '--state-dir', stateDir]);
  t.equal(netns.status, 1);
  t.match(netns.err, /no running testbed for topology "line-3"/);

  // Every node has an address: real machines, ssh.
  const addressed = resolveTopology({ ...topologyJson('line-3.json'), nodes: Object.fromEntries(Object.entries(topologyJson('line-3.json').nodes as Record<string, any>).map(([k, n], i) => [k, { ...n, underlay_ip: `192.0.2.${i + 1}` }])) });
  t.same(await chooseProvider(addressed, {}, undefined), { kind: 'ssh' });
  const partly = resolveTopology({ ...topologyJson('line-3.json'), nodes: { ...(topologyJson('line-3.json').nodes as object), h1: { kind: 'host', region: 'CORE', underlay_ip: '192.0.2.9' } } });
  t.same(await chooseProvider(partly, {}, ['h1']), { kind: 'ssh' }, 'only the selected nodes count');
  t.match(await chooseProvider(partly, {}, undefined), { error: /sw1, h2 have no underlay_ip/ });
  t.same(await chooseProvider(partly, { 'state-dir': stateDir }, undefined), { kind: 'netns' });
  t.same(await chooseProvider(partly, { identity: 'k' }, undefined), { kind: 'ssh' });

  // An ssh-only option picks ssh (the run reaches the key, which is missing: no connection is made).
  const json = topologyJson('line-3.json');
  Object.values(json.nodes as Record<string, any>).forEach((n, i) => (n.underlay_ip = `192.0.2.${i + 1}`));
  await writeFile(f, JSON.stringify(json));
  const ssh = await cli(provisionCommand, ['--topology', f, '--identity', '/nonexistent', '--known-hosts', path.join(dir, 'kh'), '--node', 'h1']);
  t.equal(ssh.status, 3);
  t.match(ssh.out, /with the ssh provider: 1 node/);
  t.match(ssh.out, /h1 +FAILED: reaching the node: cannot read private key/);
});
