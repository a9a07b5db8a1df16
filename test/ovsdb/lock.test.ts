import { once } from 'node:events';
import t from 'tap';
import { op } from '../../src/ovsdb/operations.js';
import { connectClient, initOpenVswitchRow, startOvsdbServer } from './fixture.js';

const DB = 'Open_vSwitch';

t.test('lock, steal, unlock between two clients', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint);
  const b = await connectClient(t, server.unixEndpoint);
  await initOpenVswitchRow(a);
  const events: string[] = [];
  for (const [name, c] of [['a', a], ['b', b]] as const) {
    c.on('locked', (id) => events.push(`${name} locked ${id}`));
    c.on('stolen', (id) => events.push(`${name} stolen ${id}`));
  }

  t.equal(await a.lock('vino_master'), true, 'a gets the free lock');
  t.equal(a.lockState('vino_master'), 'held');
  t.equal(await b.lock('vino_master'), false, 'b is queued');
  t.equal(b.lockState('vino_master'), 'waiting');

  // assert: only the owner's transactions pass.
  t.strictSame(await a.transact(DB, [op.assert('vino_master'), op.select('Open_vSwitch', [], ['_uuid'])]).then((r) => r[0]), {});
  await t.rejects(b.transact(DB, [op.assert('vino_master'), op.update('Open_vSwitch', [], { next_cfg: 1 })]), {
    code: 'OVSDB_ERR_TRANSACTION',
    index: 0,
    op: 'assert',
    error: 'not owner',
  });

  // b steals: a is told, and stays queued.
  const stolen = once(a, 'stolen');
  await b.steal('vino_master');
  t.equal(b.lockState('vino_master'), 'held');
  await b.steal('vino_master'); // already ours: nothing to do
  t.strictSame(await stolen, ['vino_master']);
  t.equal(a.lockState('vino_master'), 'waiting');
  await t.rejects(a.transact(DB, [op.assert('vino_master')]), { code: 'OVSDB_ERR_TRANSACTION', error: 'not owner' });
  await b.transact(DB, [op.assert('vino_master'), op.update('Open_vSwitch', [], { next_cfg: 2 })]);

  // b lets go: the lock goes back to a, which hears "locked".
  const regained = once(a, 'locked');
  await b.unlock('vino_master');
  t.equal(b.lockState('vino_master'), undefined);
  t.strictSame(await regained, ['vino_master']);
  t.equal(a.lockState('vino_master'), 'held');
  await a.transact(DB, [op.assert('vino_master')]);

  await a.unlock('vino_master');
  t.equal(a.lockState('vino_master'), undefined);
  t.equal(await b.lock('vino_master'), true, 'free again');
  t.strictSame(events, ['a stolen vino_master', 'a locked vino_master'], 'each ownership change reported once');

  // Server-side misuse is an RPC error; bad names never leave the client.
  await t.rejects(b.lock('vino_master'), { code: 'OVSDB_ERR_RPC', message: /must issue "unlock"/ });
  t.equal(b.lockState('vino_master'), 'held', 'a failed duplicate request does not forget the held lock');
  await t.rejects(a.unlock('never_locked'), { code: 'OVSDB_ERR_RPC' });
  await t.rejects(a.lock('bad name'), { code: 'OVSDB_ERR_BAD_VALUE' });
});

t.test('a queued lock is granted when the owner disconnects', async (t) => {
  const server = await startOvsdbServer(t);
  const a = await connectClient(t, server.unixEndpoint);
  const b = await connectClient(t, server.unixEndpoint);
  t.equal(await a.lock('L'), true);
  t.equal(await b.lock('L'), false);
  const granted = once(b, 'locked');
  await a.close();
  t.strictSame(await granted, ['L']);
  t.equal(b.lockState('L'), 'held');
});
