/**
 * Two controller members on a real etcd, fake switches (each switch connected to both, one
 * role book and one table per switch): roles, the follower's copy, API redirects, a stale
 * master refused, and a failover that keeps a prepared migration, changes no correct flow and
 * still auto-commits on the container's first frame.
 */
import t from 'tap';
import { fakePort } from '../../src/openflow-sim/fake-switch.js';
import { startEtcd } from '../../testbed/etcd.js';
import { EtcdStateStore, etcdClient } from '../../controller/ha/store.js';
import { simCluster, until } from './sim-cluster.js';

t.test('two members, fake switches: roles, follower, redirects, failover with a prepared migration', async (t) => {
  const etcd = await startEtcd({ name: 'ha-sim' });
  const c = await simCluster(etcd.endpoints);
  t.teardown(async () => {
    await c.close();
    await etcd.stop();
  });
  const { topology, tables, net, conns, nodes, apiOf, flowModsFrom } = c;
  const a = await c.start('a');
  const b = await c.start('b');
  t.equal(a.status().role, 'MASTER', 'first member leads');
  t.equal(b.status().role, 'SLAVE');
  t.equal(b.status().leader?.member, 'a');
  c.connect(a);
  c.connect(b);
  await until('roles claimed on every switch', () => nodes.every((n) => conns.get(a)!.get(n)!.role === 'MASTER' && conns.get(b)!.get(n)!.role === 'SLAVE'));
  await until('master installed flows', () => nodes.every((n) => tables.get(n)!.flows.length > 0));
  await a.controller.requestSync('test settle');
  t.equal(flowModsFrom(b), 0, 'the slave sent no flow or group change');

  // API: reads on the follower, writes redirected to the master.
  const names = Object.keys(topology.containers);
  const mover = names[0]!;
  t.equal((await fetch(`${apiOf(b)}/api/v1/containers/${mover}`)).status, 200, 'follower serves reads');
  const put = await fetch(`${apiOf(b)}/api/v1/containers/extra?x=1`, { method: 'PUT', redirect: 'manual', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:aa:01', node: nodes[0], ofport: 77 }) });
  t.equal(put.status, 307, 'follower redirects writes');
  t.equal(put.headers.get('location'), `${apiOf(a)}/api/v1/containers/extra?x=1`, 'to the same path on the master');
  t.equal(b.controller.locations.get('extra'), undefined, 'the follower did not apply it');

  // A write on the master reaches the follower through etcd.
  const put2 = await fetch(`${apiOf(a)}/api/v1/containers/extra`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:aa:01', node: nodes[0], ofport: 77 }) });
  t.ok(put2.status < 300, 'master accepts the write');
  await until('follower copy has the new container', () => b.controller.locations.get('extra')?.ofport === 77);

  // Prepare a migration on the master; the new port exists already.
  const home = a.controller.locations.get(mover)!;
  const target = Object.values(topology.nodes).find((n) => n.kind === 'host' && n.name !== home.node)!.name;
  for (const m of [a, b]) conns.get(m)!.get(target)!.addPort(fakePort(903, 'c-ha'));
  await until('port seen by both', () => [a, b].every((m) => m.controller.sessions.get(target)?.ports.has(903) === true));
  const prep = await fetch(`${apiOf(a)}/api/v1/migrations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ container: mover, to: { switch: target, port: 'c-ha' } }) });
  t.equal(prep.status, 201);
  const mig = await prep.json() as { id: string };
  await until('follower has the prepared migration', () => b.migrations.get(mig.id)?.state === 'prepared');
  const flowsBefore = new Map(nodes.map((n) => [n, tables.get(n)!.flows.length]));
  const oldGeneration = BigInt(a.status().leader!.generationId);

  // The master dies (no resignation: its lease runs out).
  await a.crash();
  c.members.splice(c.members.indexOf(a), 1);
  await until('b is master on every switch', () => b.status().role === 'MASTER' && nodes.every((n) => conns.get(b)!.get(n)!.role === 'MASTER'), 15_000);
  t.ok(BigInt(b.status().leader!.generationId) > oldGeneration, 'the new generation id is higher');
  await b.controller.requestSync('test settle');
  t.equal(flowModsFrom(b), 0, 'takeover by read-back: no flow or group change (everything was right)');
  t.same(new Map(nodes.map((n) => [n, tables.get(n)!.flows.length])), flowsBefore, 'tables untouched');
  t.equal(b.migrations.get(mig.id)?.state, 'prepared', 'the prepared migration survived');
  t.ok(b.migrations.get(mig.id)!.timeline.some((e) => e.event === 'taken over after a failover'));

  // Auto-commit on the container's first frame at the new port, served by the new master.
  const frame = Buffer.alloc(60);
  Buffer.from('ffffffffffff', 'hex').copy(frame, 0);
  Buffer.from(home.mac.replace(/:/g, ''), 'hex').copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12);
  conns.get(b)!.get(target)!.packetIn(903, frame);
  await until('committed by first frame', () => b.migrations.get(mig.id)?.state === 'committed');
  t.equal(b.migrations.get(mig.id)!.committedBy, 'first-frame');
  const delivered = net.walk(target, 903, { eth_src: home.mac, eth_dst: a.controller.locations.get(names[1]!)?.mac ?? '02:00:00:00:00:01', eth_type: 0x0800, ipv4_src: '0.0.0.0', ipv4_dst: '0.0.0.0' });
  t.ok(delivered.delivered.length > 0, 'the moved container reaches a peer through the tables');
  const reader = new EtcdStateStore(etcdClient(etcd.endpoints), { prefix: c.prefix });
  t.teardown(() => reader.client.close());
  await until('etcd holds the commit', async () => {
    const stored = await reader.load();
    return (stored?.migrations.find((m) => (m as { id: string }).id === mig.id) as { state?: string } | undefined)?.state === 'committed';
  });

  // A stale master: asking for MASTER with the old generation is refused by every switch.
  const refused = await b.controller.assumeRole('MASTER', oldGeneration);
  t.same(refused.sort(), [...nodes].sort(), 'every switch refused the stale generation');
  t.equal(b.controller.role, 'SLAVE', 'a refused master stops changing switches');
  await b.controller.assumeRole('MASTER', BigInt(b.status().leader!.generationId));
  t.equal(b.controller.role, 'MASTER');
});
