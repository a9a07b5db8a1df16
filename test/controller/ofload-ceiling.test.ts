/**
 * The ofload bench's ceiling row (bench/lib/ceiling-responder.ts): an emulated switch completes
 * its handshake with the responder, gets an initial flow, and every packet-in it sends comes back
 * as a PACKET_OUT carrying its frame under the same xid.
 */
import t from 'tap';
import { connect, type AddressInfo } from 'node:net';
import { packetInFrame, startCeilingResponder } from '../../bench/lib/ceiling-responder.js';
import { EmulatedSwitch } from '../../bench/lib/emulated-switch.js';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { MessageFramer } from '../../src/openflow/framer.js';

async function until(cond: () => boolean, what: string): Promise<void> {
  // Bounded by polls, not by time asserted: a failure here means it never happened.
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`never: ${what}`);
}

t.test('packetInFrame finds the frame after matches of every padded length', async (t) => {
  const frame = Buffer.from('ffffffffffff02000000000108004500', 'hex');
  for (const fields of [[], [{ field: 'in_port', value: 7 }], [{ field: 'in_port', value: 7 }, { field: 'metadata', value: 5n }]] as const) {
    const msg = encodeMessage({
      type: 'PACKET_IN', xid: 9, bufferId: 0xffffffff, totalLen: frame.length, reason: 'NO_MATCH', tableId: 0,
      cookie: 0n, match: { fields: [...fields] }, data: frame,
    });
    t.same(packetInFrame(msg), frame, `${fields.length} match field(s)`);
  }
  t.equal(packetInFrame(Buffer.alloc(20)), undefined, 'too short: no frame');
});

t.test('the responder answers each packet-in with a PACKET_OUT of its frame', async (t) => {
  const server = await startCeilingResponder('127.0.0.1', 0);
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;

  const sw = new EmulatedSwitch({ index: 3, datapathId: 3n, bridgeName: 'br-test', ports: [{ ofport: 1, name: 'p1' }], edgePorts: [10, 11] });
  t.teardown(() => sw.close());
  await sw.connect('127.0.0.1', port, performance.now() + 10_000);
  await sw.ready;
  await until(() => sw.counters.flowMods > 0, 'initial flow');
  sw.start(50);
  await until(() => sw.counters.answered >= 500, '500 answers');
  sw.stop();
  t.ok(sw.counters.answered >= 500, `answered ${sw.counters.answered}`);
  t.equal(sw.counters.answeredByPacketOut, sw.counters.answered, 'every answer was a PACKET_OUT');
  t.same(sw.errors, [], 'no ERROR from the responder');

  // The same by hand: one packet-in, its PACKET_OUT decoded.
  const raw = connect({ port, host: '127.0.0.1' });
  t.teardown(() => raw.destroy());
  const framer = new MessageFramer();
  const got: Buffer[] = [];
  raw.on('data', (c: Buffer) => got.push(...framer.push(c)));
  await new Promise((r) => raw.once('connect', r));
  const frame = Buffer.alloc(60, 0xab);
  raw.write(encodeMessage({
    type: 'PACKET_IN', xid: 4242, bufferId: 0xffffffff, totalLen: frame.length, reason: 'NO_MATCH', tableId: 0,
    cookie: 0n, match: { fields: [{ field: 'in_port', value: 10 }] }, data: frame,
  }));
  await until(() => got.some((m) => m[1] === 13), 'a PACKET_OUT');
  const out = decodeMessage(got.find((m) => m[1] === 13)!);
  t.equal(out.type, 'PACKET_OUT');
  if (out.type !== 'PACKET_OUT') return;
  t.equal(out.xid, 4242, 'same xid as the packet-in');
  t.same(out.data, frame, 'carries the frame');
  t.equal(out.actions.length, 1, 'one action');
  t.equal(out.actions[0]!.type, 'OUTPUT');
});
