/**
 * Fast failover on observed death (controller/ha/liveness.ts), on a real etcd with fake
 * switches: a master stopped as if killed (its API sockets reset, its lease neither kept alive
 * nor revoked) is replaced because the next in line saw its liveness stream drop, found its API
 * port refusing, and revoked its lease; a master that is unreachable but not refused (its
 * advertised API accepts connections and never answers) is not revoked: its lease TTL decides.
 * Also the proof itself (probeRefused): refused, answered, and a blackholed address.
 */
import t from 'tap';
import { createServer, type Server, type Socket } from 'node:net';
import { connect } from 'node:net';
import { startEtcd } from '../../testbed/etcd.js';
import { probeRefused } from '../../controller/ha/liveness.js';
import { simCluster, twoMembersOnEtcd, until } from './sim-cluster.js';

t.test('probeRefused: only a refusal counts as proof', async (t) => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  t.equal((await probeRefused('127.0.0.1', port)).verdict, 'answered', 'a listener answers');
  await new Promise((r) => server.close(r));
  const closed = await probeRefused('127.0.0.1', port);
  t.equal(closed.verdict, 'refused', 'nothing listening: refused');
  t.match(closed.detail, /ECONNREFUSED/);
  // A name that never resolves (RFC 6761 .invalid): no answer from any host is no proof either.
  const lost = await probeRefused('vino-leader.invalid', 9, 300);
  t.ok(lost.verdict === 'unreachable' || lost.verdict === 'timeout', `an unknown host is no proof (${lost.verdict}: ${lost.detail})`);
});

t.test('a master stopped as if killed: the next in line revokes its lease', async (t) => {
  const { c, a, b } = await twoMembersOnEtcd(t, { name: 'ha-fast' });
  const { nodes, conns, apiOf } = c;
  await until('b holds a liveness stream to a', () => a.status().role === 'MASTER' && b.election.nextInLine && b.liveness.connected, 10_000);
  const before = BigInt(a.status().leader!.generationId);
  const events: Record<string, unknown>[] = [];
  b.controller.on('event', (e: Record<string, unknown>) => events.push(e));
  const killedAt = performance.now();
  await a.crash();
  c.members.splice(c.members.indexOf(a), 1);
  await until('b is master on every switch', () => b.status().role === 'MASTER' && nodes.every((n) => conns.get(b)!.get(n)!.role === 'MASTER'), 15_000);
  t.comment(`b master on every switch ${Math.round(performance.now() - killedAt)} ms after the crash (not asserted)`);
  t.equal(b.status().revocations, 1, 'b revoked one lease');
  t.match(b.status().lastRevocation, { member: 'a', reason: /refused a fresh connection \(ECONNREFUSED\)/ }, 'the dead leader, with the reason');
  t.ok(events.some((e) => e.type === 'leader-revoked' && e.deadLeader === 'a'), 'leader-revoked event');
  t.match(await (await fetch(`${apiOf(b)}/metrics`)).text(), /^vino_ha_dead_leader_revocations_total 1$/m, 'metric counts it');
  t.ok(BigInt(b.status().leader!.generationId) > before, 'newer generation');
  t.equal(c.flowModsFrom(b), 0, 'takeover changed no flow');
});

t.test('a master unreachable but not refused: no revocation, the lease TTL decides', async (t) => {
  const etcd = await startEtcd({ name: 'ha-noproof' });
  const c = await simCluster(etcd.endpoints);
  // a advertises a proxy in front of its API: it forwards while a lives; at the "crash" it
  // resets the forwarded connections (the stream drops) and then accepts new ones without ever
  // answering, as a host behind a partition with a stateful middlebox might.
  let realPort = 0;
  let hold = false;
  const sockets = new Set<Socket>();
  const proxy: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    if (hold) return;
    const up = connect(realPort, '127.0.0.1');
    up.on('error', () => s.destroy());
    s.on('close', () => up.destroy());
    up.on('close', () => s.destroy());
    s.pipe(up).pipe(s);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyPort = (proxy.address() as { port: number }).port;
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => proxy.close(r));
    await c.close();
    await etcd.stop();
  });
  const a = await c.start('a', { advertise: (port) => {
    realPort = port;
    return `http://127.0.0.1:${proxyPort}`;
  } });
  const b = await c.start('b');
  c.connect(a);
  c.connect(b);
  const { nodes, conns } = c;
  await until('roles claimed', () => nodes.every((n) => conns.get(a)!.get(n)!.role === 'MASTER' && conns.get(b)!.get(n)!.role === 'SLAVE'));
  await until('b is next in line with a stream to a (through the proxy)', () => b.election.nextInLine && b.liveness.connected, 10_000);

  hold = true;
  for (const s of sockets) s.destroy();
  await a.crash();
  c.members.splice(c.members.indexOf(a), 1);
  await until('b looked for proof', () => b.liveness.verdicts.some((v) => v.leader === 'a'), 5000);
  const verdict = b.liveness.verdicts.find((v) => v.leader === 'a')!;
  t.equal(verdict.verdict, 'answered', `the fresh connection was not refused (${verdict.detail})`);
  await until('b is master on every switch once a\'s lease ran out', () => b.status().role === 'MASTER' && nodes.every((n) => conns.get(b)!.get(n)!.role === 'MASTER'), 15_000);
  t.equal(b.status().revocations, 0, 'no lease revoked: the TTL decided');
  t.equal(b.status().lastRevocation, null);
});
