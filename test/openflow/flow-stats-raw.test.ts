/**
 * Flow stats read raw (match and instructions kept as bytes) against the full decoder: the same
 * entries, decoded on demand to the same objects; malformed replies refused with an error that
 * names the problem, as the full decoder refuses them.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { decodeRawFlowStats, rawFlowBody, rawOxmValueAt, readRawFlowStatsReply } from '../../src/openflow/decode/flow-stats-raw.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { OpenFlowError } from '../../src/openflow/errors.js';
import type { FlowStats, Message } from '../../src/openflow/types/index.js';
import { ryuVectorsDir } from '../util/paths.js';

function flowsOf(m: Message): FlowStats[] {
  if (m.type !== 'MULTIPART_REPLY' || m.body.kind !== 'FLOW') throw new Error('not a flow stats reply');
  return m.body.flows;
}

/** What raw reading keeps of an entry, and what it zeroes (counters and durations). */
function comparable(f: FlowStats): FlowStats {
  return { ...f, durationSec: 0, durationNsec: 0, packetCount: 0n, byteCount: 0n };
}

const flows: FlowStats[] = [
  {
    tableId: 0, durationSec: 5, durationNsec: 6, priority: 200, idleTimeout: 0, hardTimeout: 0, flags: 4, cookie: 0x5649_0001_0000_00abn, packetCount: 7n, byteCount: 700n,
    match: { fields: [{ field: 'in_port', value: 3 }, { field: 'eth_src', value: '02:00:00:00:00:0a' }] },
    instructions: [{ type: 'GOTO_TABLE', tableId: 1 }],
  },
  {
    tableId: 1, durationSec: 0, durationNsec: 0, priority: 100, idleTimeout: 300, hardTimeout: 0, flags: 5, cookie: 0x5649_0002_0000_00abn, packetCount: 0n, byteCount: 0n,
    match: { fields: [{ field: 'eth_dst', value: '02:00:00:00:00:0b' }] },
    instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'PUSH_VLAN', ethertype: 0x8100 }, { type: 'SET_FIELD', field: { field: 'vlan_vid', value: 0x1000 | 12 } }, { type: 'OUTPUT', port: 2, maxLen: 0 }] }],
  },
  {
    tableId: 2, durationSec: 1, durationNsec: 2, priority: 10, idleTimeout: 0, hardTimeout: 0, flags: 0, cookie: 1n, packetCount: 1n, byteCount: 2n,
    match: { fields: [{ field: 'eth_dst', value: '02:00:00:00:00:00', mask: 'ff:00:00:00:00:00' }] },
    instructions: [],
  },
];

t.test('entries read raw decode to what the full decoder reads, counters and durations aside', async (t) => {
  const frame = encodeMessage({ type: 'MULTIPART_REPLY', xid: 77, flags: 1, body: { kind: 'FLOW', flows } });
  const raw = readRawFlowStatsReply(frame);
  t.equal(raw.xid, 77);
  t.equal(raw.more, true, 'the MORE flag');
  t.equal(raw.flows.length, flows.length);
  const full = flowsOf(decodeMessage(frame));
  raw.flows.forEach((r, i) => {
    t.same(decodeRawFlowStats(r), comparable(full[i]!), `entry ${i}`);
    t.equal(r.cookie, flows[i]!.cookie);
    t.equal(r.cookieHigh, Number(flows[i]!.cookie >> 32n), 'the cookie\'s high half');
    const bytes = Buffer.alloc(12);
    bytes.writeBigUInt64BE(flows[i]!.cookie, 3);
    t.ok(r.cookieIs(bytes, 3), 'the cookie as the 8 bytes a FLOW_MOD carries');
    for (const bit of [0n, 31n, 32n, 63n]) {
      bytes.writeBigUInt64BE(flows[i]!.cookie ^ (1n << bit), 3);
      t.notOk(r.cookieIs(bytes, 3), `not with bit ${bit} flipped`);
    }
    t.equal(r.idleTimeout, flows[i]!.idleTimeout);
  });
  // The bytes kept are those of a FLOW_MOD's match and instructions.
  const mod = encodeMessage({
    type: 'FLOW_MOD', xid: 1, cookie: flows[1]!.cookie, cookieMask: 0n, tableId: 1, command: 'ADD', idleTimeout: 300, hardTimeout: 0, priority: 100,
    bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: flows[1]!.match, instructions: flows[1]!.instructions,
  });
  t.ok(rawFlowBody(raw.flows[1]!).equals(mod.subarray(48)), 'match and instructions byte for byte as a FLOW_MOD carries them');
  t.equal(readRawFlowStatsReply(encodeMessage({ type: 'MULTIPART_REPLY', xid: 1, flags: 0, body: { kind: 'FLOW', flows: [] } })).flows.length, 0, 'an empty reply');
});

t.test('the unmasked value of an OXM field is found where it sits', async (t) => {
  const raw = readRawFlowStatsReply(encodeMessage({ type: 'MULTIPART_REPLY', xid: 1, flags: 0, body: { kind: 'FLOW', flows } })).flows;
  const srcAt = rawOxmValueAt(raw[0]!, 4);
  t.equal(raw[0]!.frame.subarray(srcAt, srcAt + 6).toString('hex'), '02000000000a', 'eth_src after in_port');
  t.equal(rawOxmValueAt(raw[0]!, 3), -1, 'no eth_dst');
  t.equal(rawOxmValueAt(raw[0]!, 0) > 0, true, 'in_port');
  t.equal(raw[1]!.frame.subarray(rawOxmValueAt(raw[1]!, 3), rawOxmValueAt(raw[1]!, 3) + 6).toString('hex'), '02000000000b');
  t.equal(rawOxmValueAt(raw[2]!, 3), -1, 'a masked eth_dst is not an exact value');
});

t.test('the flow stats reply of Ryu\'s test vectors reads the same both ways', async (t) => {
  const frame = readFileSync(join(ryuVectorsDir(), 'packet', '4-12-ofp_flow_stats_reply.packet'));
  const raw = readRawFlowStatsReply(frame);
  const full = flowsOf(decodeMessage(frame));
  t.equal(raw.flows.length, full.length);
  t.ok(full.length > 0);
  raw.flows.forEach((r, i) => t.same(decodeRawFlowStats(r), comparable(full[i]!), `entry ${i}`));
});

t.test('malformed replies are refused, naming the problem', async (t) => {
  const good = encodeMessage({ type: 'MULTIPART_REPLY', xid: 1, flags: 0, body: { kind: 'FLOW', flows: flows.slice(1, 2) } });
  const entryAt = 16;
  const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['truncated header', (b) => b.subarray(0, 12), /shorter than its 16-byte header/],
    ['header length not the message\'s', (b) => { b.writeUInt16BE(b.length + 8, 2); return b; }, /header length/],
    ['not a FLOW reply', (b) => { b.writeUInt16BE(2, 8); return b; }, /is not FLOW/],
    ['entry longer than the message', (b) => { b.writeUInt16BE(b.length, entryAt); return b; }, /runs past the end/],
    ['entry shorter than its minimum', (b) => { b.writeUInt16BE(40, entryAt); return b; }, /shorter than its 56-byte minimum/],
    ['match type not OXM', (b) => { b.writeUInt16BE(0, entryAt + 48); return b; }, /not OFPMT_OXM/],
    ['match longer than the entry', (b) => { b.writeUInt16BE(500, entryAt + 50); return b; }, /runs past its flow stats entry/],
    ['OXM TLV past the match', (b) => { b[entryAt + 48 + 4 + 3] = 40; return b; }, /OXM of 44 bytes does not fit/],
    ['instruction length past the entry', (b) => { b.writeUInt16BE(400, entryAt + 48 + 16 + 2); return b; }, /instruction of 400 bytes does not fit/],
    ['instruction length under its header', (b) => { b.writeUInt16BE(2, entryAt + 48 + 16 + 2); return b; }, /instruction of 2 bytes/],
    ['trailing byte', (b) => { const c = Buffer.concat([b, Buffer.alloc(1)]); c.writeUInt16BE(c.length, 2); return c; }, /needs 2 bytes for its length/],
  ];
  for (const [name, spoil, why] of cases) {
    const bad = spoil(Buffer.from(good));
    let thrown: unknown;
    try {
      readRawFlowStatsReply(bad);
    } catch (err) {
      thrown = err;
    }
    t.ok(thrown instanceof OpenFlowError && why.test(thrown.message), `${name}: ${String((thrown as Error | undefined)?.message)}`);
  }
});
