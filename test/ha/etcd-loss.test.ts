/**
 * etcd goes away entirely: switches keep their flows, the master keeps serving from memory
 * (learning still installs flows), API writes get a clear 503, nobody takes over; when etcd
 * returns the master is still master and writes what it learned meanwhile.
 */
import t from 'tap';
import { EtcdStateStore, etcdClient } from '../../controller/ha/store.js';
import { sleep, twoMembersOnEtcd, until } from './sim-cluster.js';

t.test('losing etcd does not break forwarding; writes 503; catch-up when it returns', async (t) => {
  const { etcd, c, a, b } = await twoMembersOnEtcd(t, { name: 'ha-loss' });
  const { nodes, tables, conns, apiOf } = c;
  await a.controller.requestSync('test settle');
  const flowsBefore = nodes.map((n) => tables.get(n)!.flows.length);
  const leaseKey = a.election.fence()?.key;
  t.ok(leaseKey, 'the master holds an election key');

  await etcd.kill();
  await until('master notices etcd is gone', () => !a.status().etcdReachable, 5000);
  const put = await fetch(`${apiOf(a)}/api/v1/containers/late`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:bb:02', node: nodes[0], ofport: 78 }) });
  t.equal(put.status, 503, 'writes need etcd: 503');
  t.match(await put.json(), { error: /etcd.*unreachable/ });
  t.equal((await fetch(`${apiOf(a)}/api/v1/containers`)).status, 200, 'reads still served');
  t.same(nodes.map((n) => tables.get(n)!.flows.length), flowsBefore, 'switches keep every flow');

  // Learning from memory: a new MAC at a host's edge port gets flows while etcd is down.
  const host = Object.values(c.topology.nodes).find((n) => n.kind === 'host')!;
  // An unplanned port: a new container there (a host's own internal port is never learned).
  const edge = 901;
  const mac = '02:00:00:00:cc:03';
  const frame = Buffer.alloc(60);
  Buffer.from('ffffffffffff', 'hex').copy(frame, 0);
  Buffer.from(mac.replace(/:/g, ''), 'hex').copy(frame, 6);
  frame.writeUInt16BE(0x88b5, 12);
  conns.get(a)!.get(host.name)!.packetIn(edge, frame);
  await until('learned', () => a.controller.locations.byMac(mac) !== undefined);
  await a.controller.requestSync('test settle');
  t.ok(nodes.some((n) => tables.get(n)!.flows.some((f) => f.match.fields.some((m) => m.field === 'eth_dst' && String(m.value) === mac))), 'flows for the learned MAC installed without etcd');
  await sleep(2500); // longer than the lease TTL: nobody may take over without etcd
  t.equal(a.status().role, 'MASTER', 'still master');
  t.equal(b.status().role, 'SLAVE', 'the follower did not take over');

  await etcd.restart();
  await until('etcd reachable again', () => a.status().etcdReachable, 15_000);
  // etcd restores every lease with a fresh TTL (at least its minimum, about 2 s): past that, a
  // lease not renewed is gone, and the master with it. Its client must call etcd again sooner.
  await sleep(3000);
  t.equal(a.election.fence()?.key, leaseKey, 'the master renewed its lease once etcd returned (same election key)');
  const learned = a.controller.locations.byMac(mac);
  t.ok(learned, 'the master still knows the MAC it learned while etcd was away');
  const learnedName = learned!.name;
  // A reader of its own: the members' stores must not be disturbed.
  const readerClient = etcdClient(etcd.endpoints);
  t.teardown(() => readerClient.close());
  const reader = new EtcdStateStore(readerClient, { prefix: c.prefix });
  await until('the learned location reached etcd', async () => {
    const s = await reader.load().catch(() => undefined);
    return s?.locations.some((l) => (l as { name: string }).name === learnedName) ?? false;
    // The etcd client's reconnection backs off (gRPC): a generous bound, not a speed check.
  }, 45_000).catch((err: Error) => {
    throw new Error(`${err.message}; master: ${JSON.stringify(a.status())}`);
  });
  t.equal(a.status().role, 'MASTER', 'the master kept its lead through the outage');
  await until('the follower copy caught up', () => b.controller.locations.byMac(mac) !== undefined, 45_000);
  const put2 = await fetch(`${apiOf(a)}/api/v1/containers/late`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:bb:02', node: nodes[0], ofport: 78 }) });
  t.ok(put2.status < 300, `writes work again (${put2.status})`);
});
