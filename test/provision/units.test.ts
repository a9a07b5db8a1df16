// Pure parts: the plan, the diff on in-memory states, known_hosts, shell quoting, ip parsing.
import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { addressSteps, parseIpAddrJson } from '../../controller/provision/addresses.js';
import { diffNode, DiffConflictError, countChanges } from '../../controller/provision/diff.js';
import { checkHostKey, fingerprint, keyBlobType, parseKnownHosts, preferredHostKeyAlgorithms } from '../../controller/provision/known-hosts.js';
import { planNode, PlanError } from '../../controller/provision/plan.js';
import { shellQuote, parseOvsdbOption } from '../../controller/provision/ssh.js';
import { runChecked, ShellRunner } from '../../controller/provision/shell-runner.js';
import { emptyState } from '../../controller/provision/state.js';
import { resolveTopology } from '../../src/topology/load.js';
import { topologyJson, withUnderlay } from './helpers.js';

t.test('plan of a host: bridge, internal and tunnel ports, address', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const d = planNode(topo, 'h1', { defaultDatapathType: 'netdev', extraControllerTargets: ['ptcp:6654:127.0.0.1'] });
  t.equal(d.owner, 'line-3');
  t.equal(d.bridge.name, 'h1_br');
  t.equal(d.bridge.datapathType, 'netdev');
  t.same(d.bridge.otherConfig, { 'datapath-id': topo.nodes.h1!.bridge.dpid, 'disable-in-band': 'true' });
  t.same(d.bridge.controllers.map((c) => c.target), ['tcp:127.0.0.1:6633', 'ptcp:6654:127.0.0.1']);
  t.same(d.bridge.ports.map((p) => [p.name, p.iface.type, p.iface.ofportRequest]), [
    ['int-h1', 'internal', 1],
    ['vx-sw1', 'vxlan', topo.nodes.h1!.bridge.ports[1]!.ofport],
  ]);
  t.same(d.bridge.ports[1]!.iface.options, { remote_ip: '192.0.2.1', key: String(topo.links[0]!.vni), local_ip: '192.0.2.2' });
  t.same(d.bridge.ports[1]!.externalIds, { 'vino-owner': 'line-3', 'vino-node': 'h1', 'vino-role': 'tunnel', 'vino-peer': 'sw1' });
  t.same(d.addresses, [{ ifname: 'int-h1', ip: '192.168.200.11', prefixLength: 24 }]);
  t.notOk(d.bridge.ports.some((p) => p.name.startsWith('c-')), 'container ports are not provisioned');

  const noLocal = planNode(topo, 'h1', { setLocalIp: false, controllerTarget: (c) => `tcp:10.9.9.9:${c.port}` });
  t.same(noLocal.bridge.ports[1]!.iface.options, { remote_ip: '192.0.2.1', key: String(topo.links[0]!.vni) });
  t.equal(noLocal.bridge.datapathType, 'system');
  t.same(noLocal.bridge.controllers.map((c) => c.target), ['tcp:10.9.9.9:6633']);
  t.equal(planNode(topo, 'h1', { underlayIp: (n) => (n === 'sw1' ? '10.0.0.5' : null) }).bridge.ports[1]!.iface.options.remote_ip, '10.0.0.5', "the provider's address first");
});

t.test('plan errors', async (t) => {
  const bare = resolveTopology({ ...topologyJson('line-3.json'), $schema: undefined });
  t.throws(() => planNode(bare, 'h1'), new PlanError('h1', 'tunnel vx-sw1 to sw1: no underlay address known for node "sw1" (give it underlay_ip in the topology, or use a provider that assigns one)'));
  t.throws(() => planNode(bare, 'nope'), /node "nope" is not in topology "line-3"/);
  const topo = withUnderlay(topologyJson('line-3.json'));
  t.throws(() => planNode(topo, 'h1', { extraControllerTargets: ['10.0.0.1:6633'] }), /bad controller target "10\.0\.0\.1:6633"/);
});

t.test('diff against an empty database, and against one never initialised', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const d = planNode(topo, 'sw1');
  const diff = diffNode(emptyState(), d, { owner: 'line-3', node: 'sw1' });
  t.same(countChanges(diff.changes), { created: 6, updated: 0, removed: 0 });
  t.same(diff.ops.map((o) => `${o.op} ${'table' in o ? o.table : ''}`), [
    'insert Interface',
    'insert Port',
    'insert Interface',
    'insert Port',
    'insert Controller',
    'insert Bridge',
    'mutate Open_vSwitch',
  ]);
  t.same(diffNode(emptyState(), null, { owner: 'line-3', node: 'sw1' }).ops, [], 'nothing to deprovision');
  const blank = { ...emptyState(), root: null };
  t.throws(() => diffNode(blank, d, { owner: 'line-3', node: 'sw1' }), DiffConflictError);
  t.throws(() => diffNode(blank, d, { owner: 'line-3', node: 'sw1' }), /no Open_vSwitch row/);
  t.throws(() => diffNode(emptyState(), d, { owner: 'x', node: 'sw1' }), /diffed in scope x\/sw1/);
});

t.test('diff: foreign reference to our port is dropped, foreign-only interface kept', async (t) => {
  const s = emptyState('10000000-0000-4000-8000-000000000000');
  const ours = { 'vino-owner': 'o', 'vino-node': 'n' };
  const U = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  s.rootBridges = [U(1)];
  s.bridges.set(U(1), { uuid: U(1), name: 'theirs', datapathType: '', failMode: null, protocols: [], otherConfig: {}, externalIds: {}, controllers: [], ports: [U(2), U(3)] });
  s.ports.set(U(2), { uuid: U(2), name: 'p-ours', interfaces: [U(4)], externalIds: ours });
  s.ports.set(U(3), { uuid: U(3), name: 'p-theirs', interfaces: [U(5)], externalIds: {} });
  s.interfaces.set(U(4), { uuid: U(4), name: 'p-ours', type: '', options: {}, ofportRequest: null, externalIds: ours, ofport: null, error: null });
  s.interfaces.set(U(5), { uuid: U(5), name: 'p-theirs', type: '', options: {}, ofportRequest: null, externalIds: ours, ofport: null, error: null });
  const diff = diffNode(s, null, { owner: 'o', node: 'n' });
  t.same(diff.changes.map((c) => `${c.action} ${c.kind} ${c.name}`), ['remove port p-ours', 'remove interface p-ours']);
  t.match(diff.warnings, [/interface p-theirs is ours but the only interface of port p-theirs, which is not ours/]);
  t.same(diff.ops.map((o) => o.op), ['mutate', 'delete', 'delete']);
});

t.test('ip -j addr parsing and the steps to the wanted address', async (t) => {
  const out = JSON.stringify([
    {
      ifname: 'int-h1',
      flags: ['BROADCAST', 'MULTICAST'],
      addr_info: [
        { family: 'inet', local: '10.1.1.1', prefixlen: 16, scope: 'global' },
        { family: 'inet', local: '169.254.1.1', prefixlen: 16, scope: 'link' },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ],
    },
  ]);
  const have = parseIpAddrJson(out, 'int-h1');
  t.same(have, {
    ifname: 'int-h1',
    up: false,
    inet: [
      { ip: '10.1.1.1', prefixLength: 16, scope: 'global' },
      { ip: '169.254.1.1', prefixLength: 16, scope: 'link' },
    ],
  });
  t.same(
    addressSteps(have, { ifname: 'int-h1', ip: '192.168.200.11', prefixLength: 24 }).map((s) => s.argv.join(' ')),
    ['ip addr del 10.1.1.1/16 dev int-h1', 'ip addr replace 192.168.200.11/24 dev int-h1', 'ip link set dev int-h1 up'],
  );
  t.same(addressSteps({ ifname: 'x', up: true, inet: [{ ip: '1.2.3.4', prefixLength: 24, scope: 'global' }] }, { ifname: 'x', ip: '1.2.3.4', prefixLength: 24 }), []);
  t.throws(() => parseIpAddrJson('Device "x" does not exist.', 'x'), /not JSON/);
  t.throws(() => parseIpAddrJson('[]', 'x'), /does not list x/);
});

function sshBlob(type: string, ...parts: Buffer[]): Buffer {
  const str = (b: Buffer) => Buffer.concat([u32(b.length), b]);
  return Buffer.concat([str(Buffer.from(type)), ...parts.map(str)]);
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return sshBlob('ssh-ed25519', raw);
}

t.test('known_hosts: plain, hashed, wildcard, negation, revoked, mismatch', async (t) => {
  const a = ed25519Blob();
  const b = ed25519Blob();
  const c = ed25519Blob();
  const salt = Buffer.from('0123456789abcdef0123');
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[10.0.0.7]:2222').digest('base64')}`;
  const kh = parseKnownHosts(
    [
      '# comment',
      '',
      `node1,10.0.0.1 ssh-ed25519 ${a.toString('base64')} root@node1`,
      `${hashed} ssh-ed25519 ${b.toString('base64')}`,
      `10.0.1.*,!10.0.1.9 ssh-ed25519 ${c.toString('base64')}`,
      `@revoked * ssh-ed25519 ${b.toString('base64')}`,
      `@cert-authority *.example ssh-ed25519 ${a.toString('base64')}`,
      'garbage',
    ].join('\n'),
    'KH',
  );
  t.equal(kh.entries.length, 5);
  t.equal(keyBlobType(a), 'ssh-ed25519');
  t.equal(fingerprint(a), `SHA256:${createHash('sha256').update(a).digest('base64').replace(/=+$/, '')}`);
  t.match(checkHostKey(kh, '10.0.0.1', 22, a), { ok: true, entry: { line: 3 } });
  t.match(checkHostKey(kh, 'NODE1', 22, a), { ok: true }, 'host names are case-insensitive');
  t.match(checkHostKey(kh, '10.0.1.5', 22, c), { ok: true });
  t.match(checkHostKey(kh, '10.0.1.9', 22, c), { ok: false, reason: 'unknown' }, 'negated pattern');
  t.match(checkHostKey(kh, '10.0.0.7', 2222, b), { ok: false, reason: 'revoked', message: /marks @revoked/ });
  const mm = checkHostKey(kh, '10.0.0.1', 22, c);
  t.match(mm, { ok: false, reason: 'mismatch' });
  if (!mm.ok) t.equal(mm.message, `HOST KEY MISMATCH for 10.0.0.1: it presented ssh-ed25519 key ${fingerprint(c)}, but KH has ssh-ed25519 ${fingerprint(a)} (KH:3). Someone may be intercepting the connection, or the host was reinstalled; refusing to connect`);
  t.match(checkHostKey(kh, '10.0.0.1', 2022, a), { ok: false, reason: 'unknown', message: /host \[10\.0\.0\.1\]:2022 is not in KH/ });
  // The hashed entry without the revocation:
  const kh2 = parseKnownHosts(`${hashed} ssh-ed25519 ${b.toString('base64')}\n`);
  t.match(checkHostKey(kh2, '10.0.0.7', 2222, b), { ok: true });
  t.match(checkHostKey(kh2, '10.0.0.7', 22, b), { ok: false, reason: 'unknown' });

  const rsa = parseKnownHosts(`h ssh-rsa ${a.toString('base64')}\nh ecdsa-sha2-nistp256 ${b.toString('base64')}\n`);
  const algs = preferredHostKeyAlgorithms(rsa, 'h', 22, ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  t.same(algs, ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ssh-ed25519']);
});

t.test('shell quoting and --ovsdb targets', async (t) => {
  t.equal(shellQuote('plain-word_1.2/x:y'), 'plain-word_1.2/x:y');
  t.equal(shellQuote(''), "''");
  t.equal(shellQuote("it's"), `'it'\\''s'`);
  t.equal(shellQuote('$(reboot)'), "'$(reboot)'");
  t.same(parseOvsdbOption('unix:/var/run/openvswitch/db.sock'), { kind: 'ssh-unix', path: '/var/run/openvswitch/db.sock' });
  t.same(parseOvsdbOption('tcp:6640'), { kind: 'tcp', host: null, port: 6640 });
  t.same(parseOvsdbOption('tcp:10.0.0.1:6641'), { kind: 'tcp', host: '10.0.0.1', port: 6641 });
  t.same(parseOvsdbOption('ssl:6640'), { kind: 'ssl', host: null, port: 6640 });
  t.same(parseOvsdbOption('ssl:x:1'), { kind: 'ssl', host: 'x', port: 1 });
  t.throws(() => parseOvsdbOption('tcp:70000'), /out of range/);
});

t.test('ShellRunner: output, status, env, quoting, timeout, concurrency', async (t) => {
  const r = new ShellRunner(2);
  t.teardown(() => r.close());
  t.same(await r.run({ argv: ['printf', '%s|', "it's", 'a b', '$HOME', ''], timeoutMs: 5000 }), { status: 0, stdout: "it's|a b|$HOME||", stderr: '', timedOut: false });
  t.same(await r.run({ argv: ['sh', '-c', 'echo "$X"; echo err >&2; exit 3'], env: { X: 'v a l' }, timeoutMs: 5000 }), { status: 3, stdout: 'v a l\n', stderr: 'err\n', timedOut: false });
  t.match(await r.run({ argv: ['sleep', '5'], timeoutMs: 200 }), { timedOut: true });
  const many = await Promise.all(Array.from({ length: 6 }, (_, i) => r.run({ argv: ['echo', String(i)], timeoutMs: 5000 })));
  t.same(many.map((x) => x.stdout), ['0\n', '1\n', '2\n', '3\n', '4\n', '5\n'], 'each command gets its own output');
  await t.rejects(runChecked(r, 'n1', ['false'], ['false'], undefined, 5000), /^n1: `false` exited with status 1$/);
  r.close();
  await t.rejects(r.run({ argv: ['true'], timeoutMs: 1000 }), /closed/);
});
