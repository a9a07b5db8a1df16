// Provisioning against real ovsdb-servers (one per node), checked with ovs-vsctl.
import t from 'tap';
import { runProvisioning, formatRunReport, type RunReport } from '../../controller/provision/run.js';
import type { NodeReport } from '../../controller/provision/node.js';
import { startNodes, TestProvider, topologyJson, vsctl, withUnderlay } from './helpers.js';

const byNode = (r: RunReport): Record<string, NodeReport> => Object.fromEntries(r.nodes.map((n) => [n.node, n]));

t.test('provision line-3: rows, columns, addresses; second run is a no-op', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const nodes = await startNodes(t, topo);
  const provider = new TestProvider(topo, nodes);

  const r1 = await runProvisioning(topo, provider, { mode: 'provision' });
  t.ok(r1.ok, formatRunReport(r1, { verbose: true }));
  const n1 = byNode(r1);
  // sw1: bridge + controller + 2 tunnel ports (port + interface each).
  t.same(n1.sw1!.counts, { created: 6, updated: 0, removed: 0 });
  // h1: bridge + controller + internal (2) + tunnel (2) rows, then an address and link-up.
  t.same(n1.h1!.counts, { created: 7, updated: 1, removed: 0 });
  t.equal(n1.h1!.status, 'changed');

  const h1 = nodes.h1!.server;
  const sw1 = nodes.sw1!.server;
  t.equal(await vsctl(h1, 'list-br'), 'h1_br');
  t.same((await vsctl(h1, 'list-ports', 'h1_br')).split('\n').sort(), ['int-h1', 'vx-sw1']);
  t.same((await vsctl(sw1, 'list-ports', 'sw1_br')).split('\n').sort(), ['vx-h1', 'vx-h2']);
  t.equal(await vsctl(h1, 'get', 'Bridge', 'h1_br', 'fail_mode'), 'secure');
  t.equal(await vsctl(h1, 'get', 'Bridge', 'h1_br', 'protocols'), '[OpenFlow13]');
  t.equal(await vsctl(h1, 'get', 'Bridge', 'h1_br', 'datapath_type'), 'netdev');
  t.equal(await vsctl(h1, 'get', 'Bridge', 'h1_br', 'other_config:datapath-id'), `"${topo.nodes.h1!.bridge.dpid}"`);
  t.equal(await vsctl(h1, 'get-controller', 'h1_br'), 'tcp:127.0.0.1:6633');
  t.equal(await vsctl(h1, 'get', 'Bridge', 'h1_br', 'external_ids:vino-owner'), 'line-3');

  const vx = topo.nodes.h1!.bridge.ports.find((p) => p.kind === 'tunnel')!;
  if (vx.kind !== 'tunnel') throw new Error('unreachable');
  t.equal(await vsctl(h1, 'get', 'Interface', 'vx-sw1', 'type'), 'vxlan');
  t.equal(
    await vsctl(h1, 'get', 'Interface', 'vx-sw1', 'options'),
    `{key="${vx.vni}", local_ip="${topo.nodes.h1!.underlayIp}", remote_ip="${topo.nodes.sw1!.underlayIp}"}`,
  );
  t.equal(await vsctl(h1, 'get', 'Interface', 'vx-sw1', 'ofport_request'), String(vx.ofport));
  t.equal(await vsctl(h1, 'get', 'Interface', 'int-h1', 'ofport_request'), '1');
  t.equal(await vsctl(h1, 'get', 'Interface', 'int-h1', 'type'), 'internal');
  for (const table of ['Port', 'Interface']) {
    t.equal(await vsctl(h1, 'get', table, 'vx-sw1', 'external_ids:vino-node'), 'h1');
    t.equal(await vsctl(h1, 'get', table, 'vx-sw1', 'external_ids:vino-peer'), 'sw1');
  }
  t.same(nodes.h1!.writes, ['ip addr replace 192.168.200.11/24 dev int-h1', 'ip link set dev int-h1 up']);
  t.same(nodes.h1!.execs, [['sh', '-c', 'ip addr replace 192.168.200.11/24 dev int-h1 && ip link set dev int-h1 up']], 'a new port: one command, no read');
  t.same(nodes.sw1!.execs, [], 'a switch without internal port runs no command');

  const r2 = await runProvisioning(topo, provider, { mode: 'provision' });
  t.ok(r2.ok);
  for (const n of r2.nodes) {
    t.equal(n.status, 'up-to-date', `${n.node} up to date`);
    t.equal(n.operations, 0);
    t.same(n.changes, []);
  }
  t.same(nodes.h1!.writes, ['ip addr replace 192.168.200.11/24 dev int-h1', 'ip link set dev int-h1 up'], 'no command re-run');
  t.same(nodes.h1!.execs.slice(1), [['ip', '-j', 'addr', 'show', 'dev', 'int-h1']], 'up to date: one read');
  t.match(formatRunReport(r2), /h1 +up to date \(0 operations/);
  t.match(formatRunReport(r2), /3 nodes: 3 up to date/);
});

t.test('an edited topology changes only what differs', async (t) => {
  const json = {
    name: 'edit',
    controller: '127.0.0.1:6633',
    nodes: {
      s1: { kind: 'switch', region: 'A' },
      s2: { kind: 'switch', region: 'A' },
      s3: { kind: 'switch', region: 'A' },
      h1: { kind: 'host', region: 'A' },
      h3: { kind: 'host', region: 'A' },
    },
    links: [
      { switch: 's1', peer: 's2' },
      { switch: 's2', peer: 's3' },
      { switch: 's1', host: 'h1', overlay_ip: '192.168.200.11' },
      { switch: 's3', host: 'h3', overlay_ip: '192.168.200.13' },
    ],
  };
  const before = withUnderlay(json);
  const nodes = await startNodes(t, before);
  const r1 = await runProvisioning(before, new TestProvider(before, nodes), { mode: 'provision' });
  t.ok(r1.ok, formatRunReport(r1));

  // Remove s2-s3, add s1-s3.
  const edited = structuredClone(json);
  edited.links = [{ switch: 's1', peer: 's2' }, { switch: 's1', peer: 's3' }, ...json.links.slice(2)];
  const after = withUnderlay(edited);
  const r2 = await runProvisioning(after, new TestProvider(after, nodes), { mode: 'provision', concurrency: 2 });
  t.ok(r2.ok, formatRunReport(r2, { verbose: true }));
  const n = byNode(r2);
  t.same(n.s1!.counts, { created: 2, updated: 0, removed: 0 });
  t.same(n.s1!.changes.map((c) => `${c.action} ${c.kind} ${c.name}`).sort(), ['create interface vx-s3', 'create port vx-s3']);
  t.same(n.s2!.changes.map((c) => `${c.action} ${c.kind} ${c.name}`).sort(), ['remove interface vx-s3', 'remove port vx-s3']);
  t.same(n.s3!.changes.map((c) => `${c.action} ${c.kind} ${c.name}`).sort(), [
    'create interface vx-s1',
    'create port vx-s1',
    'remove interface vx-s2',
    'remove port vx-s2',
  ]);
  t.equal(n.h1!.status, 'up-to-date');
  t.equal(n.h3!.status, 'up-to-date');
  t.same((await vsctl(nodes.s2!.server, 'list-ports', 's2_br')).split('\n'), ['vx-s1']);
  t.same((await vsctl(nodes.s3!.server, 'list-ports', 's3_br')).split('\n').sort(), ['vx-h3', 'vx-s1']);
  // The removed interface row is gone, not just unreferenced.
  t.equal(await vsctl(nodes.s2!.server, '--columns=name', 'find', 'Interface', 'name=vx-s3'), '');

  // A changed controller and a changed underlay address are updates in place.
  const moved = structuredClone(edited) as Record<string, any>;
  moved.controller = '127.0.0.1:6653';
  moved.nodes.s3.underlay_ip = '192.0.2.99';
  const after2 = withUnderlay(moved);
  const uuidBefore = await vsctl(nodes.s1!.server, 'get', 'Interface', 'vx-s3', '_uuid');
  const r3 = await runProvisioning(after2, new TestProvider(after2, nodes), { mode: 'provision', nodes: ['s1'] });
  t.ok(r3.ok);
  t.same(r3.nodes.map((x) => x.node), ['s1'], '--node limits the run');
  t.same(r3.nodes[0]!.changes.map((c) => `${c.action} ${c.kind} ${c.name}`).sort(), [
    'create controller tcp:127.0.0.1:6653',
    'remove controller tcp:127.0.0.1:6633',
    'update interface vx-s3',
  ]);
  t.match(r3.nodes[0]!.changes.find((c) => c.kind === 'interface')!.detail, /options:remote_ip 192\.0\.2\.3 -> 192\.0\.2\.99/);
  t.equal(await vsctl(nodes.s1!.server, 'get', 'Interface', 'vx-s3', '_uuid'), uuidBefore, 'same row');
  t.equal(await vsctl(nodes.s1!.server, 'get', 'Interface', 'vx-s3', 'options:remote_ip'), '"192.0.2.99"');
  t.equal(await vsctl(nodes.s1!.server, 'get-controller', 's1_br'), 'tcp:127.0.0.1:6653');
  t.equal(await vsctl(nodes.s1!.server, '--columns=target', 'find', 'Controller', 'target="tcp:127.0.0.1:6633"'), '', 'old controller row deleted');
});

t.test('foreign rows: kept by provision, left by deprovision, conflicts refused', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const nodes = await startNodes(t, topo);
  const provider = new TestProvider(topo, nodes);
  const h1 = nodes.h1!.server;
  const h2 = nodes.h2!.server;

  // h2 already has a bridge with our bridge's name that someone else made.
  await vsctl(h2, 'add-br', 'h2_br');
  await vsctl(h1, 'add-br', 'foreign', '--', 'add-port', 'foreign', 'p1', '--', 'set', 'Interface', 'p1', 'type=internal');

  const r1 = await runProvisioning(topo, provider, { mode: 'provision' });
  t.notOk(r1.ok);
  const n1 = byNode(r1);
  t.equal(n1.h2!.status, 'failed');
  t.match(n1.h2!.error, /bridge h2_br already exists and is not ours: it was not created by vino-controller/);
  t.equal(n1.h1!.status, 'changed', 'other nodes provisioned');
  t.equal(n1.sw1!.status, 'changed');
  t.equal(await vsctl(h2, 'list-ports', 'h2_br'), '', 'the conflicting node was not touched');
  t.match(formatRunReport(r1), /h2 +FAILED: comparing with the topology: bridge h2_br already exists/);
  t.match(formatRunReport(r1), /3 nodes: 2 changed, 1 FAILED/);

  // Someone adds a port and an external_ids key to our bridge: provision keeps both.
  await vsctl(h1, 'add-port', 'h1_br', 'extra', '--', 'set', 'Interface', 'extra', 'type=internal');
  await vsctl(h1, 'set', 'Bridge', 'h1_br', 'external_ids:team=blue', 'other_config:mac-aging-time=100');
  const r2 = await runProvisioning(topo, provider, { mode: 'provision', nodes: ['h1'] });
  t.equal(r2.nodes[0]!.status, 'up-to-date');
  t.match(r2.nodes[0]!.warnings, [/bridge h1_br also has port extra, which is not ours/]);
  t.same((await vsctl(h1, 'list-ports', 'h1_br')).split('\n').sort(), ['extra', 'int-h1', 'vx-sw1']);

  const d = await runProvisioning(topo, provider, { mode: 'deprovision', nodes: ['h1', 'sw1'] });
  t.ok(d.ok, formatRunReport(d));
  const dn = byNode(d);
  // h1: bridge, controller, 2 ports, 2 interfaces.
  t.same(dn.h1!.counts, { created: 0, updated: 0, removed: 6 });
  t.match(dn.h1!.warnings, [/removing bridge h1_br also removes port extra, which is not ours/]);
  t.equal(await vsctl(h1, 'list-br'), 'foreign', 'the foreign bridge survives');
  t.equal(await vsctl(h1, 'list-ports', 'foreign'), 'p1');
  t.equal(await vsctl(h1, '--columns=name', 'find', 'Interface', 'external_ids:vino-owner=line-3'), '');
  t.equal(await vsctl(h1, '--columns=target', 'list', 'Controller'), '');
  t.equal(await vsctl(nodes.sw1!.server, 'list-br'), '');

  const d2 = await runProvisioning(topo, provider, { mode: 'deprovision', nodes: ['h1'] });
  t.equal(d2.nodes[0]!.status, 'up-to-date', 'deprovision twice: nothing left to do');
});

t.test('owners and nodes sharing one database do not touch each other', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const nodes = await startNodes(t, topo);
  const shared = nodes.h1!;
  // A second deployment into the same database, distinguished by owner.
  const renamed = structuredClone(topologyJson('line-3.json'));
  renamed.name = 'line-3b';
  for (const [n, spec] of Object.entries(renamed.nodes as Record<string, any>)) spec.bridge = `${n}_b`;
  const topoB = withUnderlay(renamed);
  const pa = new TestProvider(topo, { h1: shared });
  const pb = new TestProvider(topoB, { h1: shared });
  t.ok((await runProvisioning(topo, pa, { mode: 'provision', nodes: ['h1'] })).ok);
  const rb = await runProvisioning(topoB, pb, { mode: 'provision', nodes: ['h1'], plan: { owner: 'second' } });
  // The port names clash (int-h1, vx-sw1): the second owner must not take them over.
  t.equal(rb.nodes[0]!.status, 'failed');
  t.match(rb.nodes[0]!.error, /port int-h1 already exists on bridge h1_br and is not ours: it belongs to vino-owner=line-3 vino-node=h1/);
  t.equal(await vsctl(shared.server, 'list-br'), 'h1_br');
});

t.test('a failing node leaves the others provisioned and is reported', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const nodes = await startNodes(t, topo);
  await nodes.h2!.server.kill();
  nodes.h1!.failInterfaces = 'could not open network device int-h1 (No such device)';
  const r = await runProvisioning(topo, new TestProvider(topo, nodes), { mode: 'provision', interfaceTimeoutMs: 3000 });
  t.notOk(r.ok);
  const n = byNode(r);
  t.equal(n.sw1!.status, 'changed');
  t.equal(n.h2!.status, 'failed');
  t.match(n.h2!.error, /^connecting to OVSDB: cannot connect to unix:.*db\.sock/);
  t.equal(n.h1!.status, 'failed');
  t.match(n.h1!.error, /setting the address of int-h1: ovs-vswitchd cannot create int-h1: could not open network device/);
  t.same(n.h1!.counts, { created: 6, updated: 0, removed: 0 }, 'what was done before the failure is reported');
  t.equal(await vsctl(nodes.sw1!.server, 'list-br'), 'sw1_br');
});

t.test('no ovs-vswitchd: the wait for the internal port times out with a clear error', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const nodes = await startNodes(t, topo, { vswitchd: false });
  const r = await runProvisioning(topo, new TestProvider(topo, nodes), { mode: 'provision', nodes: ['h1'], interfaceTimeoutMs: 300 });
  t.equal(r.nodes[0]!.status, 'failed');
  t.match(r.nodes[0]!.error, /ovs-vswitchd did not create int-h1 within 300 ms \(is ovs-vswitchd running on h1/);
});

t.test('dry run changes nothing and lists the changes', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const nodes = await startNodes(t, topo);
  const r = await runProvisioning(topo, new TestProvider(topo, nodes), { mode: 'provision', dryRun: true });
  t.ok(r.ok);
  for (const n of r.nodes) t.equal(n.status, 'would-change');
  t.equal(await vsctl(nodes.h1!.server, 'list-br'), '');
  t.same(nodes.h1!.writes, []);
  const text = formatRunReport(r);
  t.match(text, /provision \(dry run\)/);
  t.match(text, /\+ bridge h1_br: datapath_type=netdev dpid=/);
  t.match(text, /\+ interface vx-sw1: vxlan ofport=\d+ remote_ip=192\.0\.2\.\d,key=\d+,local_ip=192\.0\.2\.\d\n/);
  t.match(text, /\+ address 192\.168\.200\.11\/24: on int-h1, once ovs-vswitchd has created it/);
});

t.test('a stale address on the internal port is replaced', async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const nodes = await startNodes(t, topo);
  const p = new TestProvider(topo, nodes);
  t.ok((await runProvisioning(topo, p, { mode: 'provision', nodes: ['h1'] })).ok);
  const edited = structuredClone(topologyJson('line-3.json'));
  edited.links[0].overlay_ip = '192.168.200.21';
  const topo2 = withUnderlay(edited);
  const r = await runProvisioning(topo2, new TestProvider(topo2, nodes), { mode: 'provision', nodes: ['h1'] });
  t.same(r.nodes[0]!.changes.map((c) => `${c.action} ${c.kind} ${c.name}`), ['remove address 192.168.200.11/24', 'create address 192.168.200.21/24']);
  t.same(nodes.h1!.links.get('int-h1')!.inet.map((x) => x.ip), ['192.168.200.21']);
});
