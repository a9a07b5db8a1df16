/**
 * A three-node etcd cluster: with one etcd node killed the quorum holds, the controller
 * cluster keeps writing, and a master failover still works through the remaining two.
 */
import t from 'tap';
import { twoMembersOnEtcd, until } from './sim-cluster.js';

t.test('three etcd nodes, one lost: writes and failover still work', async (t) => {
  const { etcd, c, a, b } = await twoMembersOnEtcd(t, { name: 'ha-3', size: 3 });
  const { nodes, conns, tables, apiOf } = c;

  await etcd.kill(0);
  // If the killed node led etcd, the other two elect a leader first: until then writes get 503.
  let status = 0;
  await until('a write with 2 of 3 etcd nodes', async () => {
    status = (await fetch(`${apiOf(a)}/api/v1/containers/q1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:dd:01', node: nodes[0], ofport: 79 }) })).status;
    return status < 300;
  }, 15_000);
  t.ok(status < 300, `a write with 2 of 3 etcd nodes (${status})`);
  // The follower's watch moves to a live etcd node; its client's reconnection backs off (gRPC).
  await until('follower copy has it', () => b.controller.locations.get('q1')?.ofport === 79, 45_000);

  const before = BigInt(a.status().leader!.generationId);
  await a.crash();
  c.members.splice(c.members.indexOf(a), 1);
  await until('b is master on every switch', () => b.status().role === 'MASTER' && nodes.every((n) => conns.get(b)!.get(n)!.role === 'MASTER'), 15_000);
  t.ok(BigInt(b.status().leader!.generationId) > before, 'newer generation');
  t.equal(c.flowModsFrom(b), 0, 'takeover changed no flow');
  t.equal(b.controller.locations.get('q1')?.ofport, 79, 'the new master has the write made through the degraded etcd');
});
