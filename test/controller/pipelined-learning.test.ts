/**
 * Learning does not wait for the barriers of earlier changes (pipelined syncs), but nothing
 * that depends on them goes before they are confirmed: requestSync resolves only once every
 * earlier change is confirmed, and an ordered change (a container moved) is sent only then.
 */
import t from 'tap';
import { ipv4Frame, makeWorld } from './world.js';
import type { Message } from '../../src/openflow/types/index.js';

/** A FLOW_MOD adding a flow that matches `mac` as source or destination. */
const addsFor = (mac: string) => (m: Message) =>
  m.type === 'FLOW_MOD' && m.command === 'ADD' && m.match.fields.some((f) => (f.field === 'eth_src' || f.field === 'eth_dst') && String(f.value).toLowerCase() === mac);

t.test('a learned MAC goes out while the previous one awaits its barrier; what depends on them waits', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  await w.waitSettled();
  const ctl = w.app.controller;
  const node = 'h4';
  const sw = w.switches.get(node)!;
  const client = ctl.locations.get('client')!;

  // Port 91 gets its first location now: that changes the flood group (a full computation,
  // which waits for confirmations); the MACs below then only add endpoints.
  sw.packetIn(91, ipv4Frame(client.mac, '02:00:00:00:aa:00'));
  await sw.waitFor(addsFor('02:00:00:00:aa:00'));
  await ctl.requestSync('test: port 91 in use');

  // From now on the switch holds back its barrier replies until the test releases them.
  (sw as unknown as { options: { answerBarrier: boolean } }).options.answerBarrier = false;
  const heldBarriers: number[] = [];
  const holdFrom = sw.received.length;
  const onMessage = (m: Message) => {
    if (m.type === 'BARRIER_REQUEST') heldBarriers.push(m.xid);
  };
  sw.on('message', onMessage);
  t.teardown(() => sw.off('message', onMessage));

  const a = '02:00:00:00:aa:01';
  const b = '02:00:00:00:aa:02';
  sw.packetIn(91, ipv4Frame(client.mac, a));
  await sw.waitFor(addsFor(a));
  await sw.waitFor((m) => m.type === 'BARRIER_REQUEST');
  sw.packetIn(91, ipv4Frame(client.mac, b));
  await sw.waitFor(addsFor(b));
  t.ok(heldBarriers.length >= 1, 'the second MAC\'s flows were sent while the first one\'s barrier was unanswered');

  let settled = false;
  const settledAll = ctl.requestSync('test: everything so far').then(() => {
    settled = true;
  });
  // An ordered change (a container moved) may only be computed against confirmed state.
  const moved = ctl.placeContainer({ name: 'db', mac: '02:00:00:00:00:02', ip: '192.168.200.102', node, ofport: 93 });
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(settled, 'requestSync does not resolve while earlier changes await their barriers');
  const beforeRelease = sw.received.length;
  const db = addsFor('02:00:00:00:00:02');
  t.notOk(sw.received.slice(holdFrom).some(db), 'the move sent nothing before the learned MACs were confirmed');

  (sw as unknown as { options: { answerBarrier: boolean } }).options.answerBarrier = true;
  for (const xid of heldBarriers.splice(0)) sw.write({ type: 'BARRIER_REPLY', xid });
  await settledAll;
  await moved;
  t.ok(settled, 'resolved once the barriers came back');
  const moveMods = sw.received.map((m, i) => ({ m, i })).filter(({ m, i }) => i >= holdFrom && db(m));
  t.ok(moveMods.length > 0, 'the move was sent to the new edge');
  t.ok(moveMods.every(({ i }) => i >= beforeRelease), 'only after the release');
  t.equal(ctl.locations.byMac(a)?.node, node);
  t.equal(ctl.locations.byMac(b)?.node, node);
});
