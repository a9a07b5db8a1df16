// ofp_port, ofp_bucket, meter bands, ofp_packet_queue and queue properties: byte-exact round
// trips from hand-built spec layouts, error paths with (type, code, offset), truncation.
import t from 'tap';
import type { Test } from 'tap';
import { OpenFlowError } from '../../src/openflow/errors.js';
import { hex, throwsOfp } from '../util/openflow-asserts.js';
import { BufferReader } from '../../src/openflow/reader.js';
import { BufferWriter } from '../../src/openflow/writer.js';
import {
  readBuckets, readMeterBands, readPacketQueue, readPortDesc, readQueueProperties,
} from '../../src/openflow/decode/structs.js';
import {
  writeBuckets, writeMeterBands, writePacketQueue, writePortDesc, writeQueueProperties,
} from '../../src/openflow/encode/structs.js';
import type { Bucket, MeterBand, PacketQueue, PortDesc, QueueProperty } from '../../src/openflow/types/structs.js';

const name16 = (s: string): string => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.alloc(16 - s.length)]).toString('hex');


function encoded(write: (w: BufferWriter) => void): Buffer {
  const w = new BufferWriter(8);
  write(w);
  return w.toBuffer();
}

/** Every prefix of `full` shorter than it must fail with OpenFlowError (never a RangeError). */
function everyCutFails(t: Test, full: Buffer, decode: (r: BufferReader, n: number) => unknown, label: string): void {
  let bad = 0;
  for (let n = 0; n < full.length; n++) {
    try {
      decode(new BufferReader(full.subarray(0, n)), full.length);
      bad++;
    } catch (err) {
      if (!(err instanceof OpenFlowError)) {
        bad++;
        t.fail(`${label} cut at ${n}: ${String(err)}`);
      }
    }
  }
  t.equal(bad, 0, `${label}: all ${full.length} cuts rejected with OpenFlowError`);
}

const PORT_HEX = `00000001 00000000 0a1b2c3d4e5f 0000 ${name16('eth1')}
  00000001 00000004 00002820 0000280f 0000281f 00000000 00989680 00989680`;
const PORT: PortDesc = {
  portNo: 1, hwAddr: '0a:1b:2c:3d:4e:5f', name: 'eth1', config: 1, state: 4, curr: 0x2820,
  advertised: 0x280f, supported: 0x281f, peer: 0, currSpeed: 10_000_000, maxSpeed: 10_000_000,
};

t.test('port description', (t) => {
  const b = hex(PORT_HEX);
  t.equal(b.length, 64);
  const r = new BufferReader(b);
  t.strictSame(readPortDesc(r), PORT);
  t.equal(r.pos, 64);
  t.equal(encoded((w) => writePortDesc(w, PORT)).toString('hex'), b.toString('hex'));

  const local: PortDesc = { ...PORT, portNo: 0xfffffffe, name: 'abcdefghijklmno', hwAddr: 'ff:ff:ff:ff:ff:fe', config: 0xffffffff };
  const lb = encoded((w) => writePortDesc(w, local));
  t.equal(lb.subarray(16, 32).toString('hex'), name16('abcdefghijklmno'), '15-character name keeps its NUL');
  t.strictSame(readPortDesc(new BufferReader(lb)), local);
  const latin: PortDesc = { ...PORT, name: 'café' };
  t.strictSame(readPortDesc(new BufferReader(encoded((w) => writePortDesc(w, latin)))), latin, 'latin1 name');

  // A switch that fills all 16 bytes: read up to the field's end; bytes after a NUL are ignored.
  const full = Buffer.from(b);
  full.write('0123456789abcdef', 16, 'latin1');
  t.equal(readPortDesc(new BufferReader(full)).name, '0123456789abcdef');
  full.write('ab\0junk', 16, 'latin1');
  t.equal(readPortDesc(new BufferReader(full)).name, 'ab');

  throwsOfp(t, () => readPortDesc(new BufferReader(b.subarray(0, 63))), 'BAD_REQUEST', 'BAD_LEN', 0, '63 bytes');
  const inMsg = Buffer.concat([Buffer.alloc(16), b.subarray(0, 40)]);
  throwsOfp(t, () => readPortDesc(new BufferReader(inMsg, 16, inMsg.length, 0)), 'BAD_REQUEST', 'BAD_LEN', 16, 'offset within a message');
  everyCutFails(t, b, (r) => readPortDesc(r), 'port');

  const bad: Array<[Partial<PortDesc>, string, number]> = [
    [{ portNo: -1 }, 'BAD_PORT', 0],
    [{ hwAddr: '0a:1b:2c:3d:4e' }, 'BAD_HW_ADDR', 8],
    [{ name: 'abcdefghijklmnopq' }, 'BAD_CONFIG', 16],
    [{ name: 'a\0b' }, 'BAD_CONFIG', 16],
    [{ name: 'port€' }, 'BAD_CONFIG', 16],
    [{ name: 5 as never }, 'BAD_CONFIG', 16],
    [{ config: 2 ** 32 }, 'BAD_CONFIG', 32],
    [{ state: -1 }, 'BAD_CONFIG', 36],
    [{ curr: 1.5 }, 'BAD_ADVERTISE', 40],
    [{ advertised: '1' as never }, 'BAD_ADVERTISE', 44],
    [{ supported: undefined as never }, 'BAD_ADVERTISE', 48],
    [{ peer: -1 }, 'BAD_ADVERTISE', 52],
    [{ currSpeed: 2 ** 32 }, 'BAD_CONFIG', 56],
    [{ maxSpeed: NaN }, 'BAD_CONFIG', 60],
  ];
  for (const [change, code, offset] of bad) {
    const w = new BufferWriter(8);
    throwsOfp(t, () => writePortDesc(w, { ...PORT, ...change }), 'PORT_MOD_FAILED', code, offset, `port ${JSON.stringify(change)}`);
    t.equal(w.pos, 0, 'writer restored');
  }
  t.end();
});

const BUCKETS_HEX = [
  '0020 0064 ffffffff ffffffff 00000000 | 0000 0010 00000002 0000 000000000000',
  '0028 0000 00000003 00000007 00000000 | 0012 0008 00000000 | 0000 0010 00000003 0000 000000000000',
  '0010 ffff 00000004 ffffffff 00000000',
];
const BUCKETS: Bucket[] = [
  { weight: 100, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'OUTPUT', port: 2, maxLen: 0 }] },
  { weight: 0, watchPort: 3, watchGroup: 7, actions: [{ type: 'POP_VLAN' }, { type: 'OUTPUT', port: 3, maxLen: 0 }] },
  { weight: 0xffff, watchPort: 4, watchGroup: 0xffffffff, actions: [] },
];

t.test('buckets', (t) => {
  const b = hex(BUCKETS_HEX.join(''));
  const r = new BufferReader(b);
  t.strictSame(readBuckets(r, b.length), BUCKETS);
  t.equal(r.pos, b.length);
  t.equal(encoded((w) => writeBuckets(w, BUCKETS)).toString('hex'), b.toString('hex'));
  t.strictSame(readBuckets(new BufferReader(Buffer.alloc(0)), 0), [], 'no buckets');
  everyCutFails(t, b, (r, n) => readBuckets(r, n), 'buckets');

  const cases: Array<[string, number, string, string, number, string]> = [
    ['0008 0000 00000000 00000000 00000000', 16, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0, 'len 8'],
    ['0014 0000 00000000 00000000 00000000 00000000 00000000', 24, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0, 'len 20'],
    ['0020 0000 00000000 00000000 00000000', 16, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0, 'len past the list'],
    ['0010 0000 00000000', 8, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0, 'shorter than a bucket header'],
    ['0010 0000 00000000 00000000 00000000 0010 0000', 20, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 16, 'second bucket cut'],
    ['0018 0000 00000000 00000000 00000000 0001 0008 00000000', 24, 'BAD_ACTION', 'BAD_TYPE', 16, 'bad action in a bucket'],
    ['0018 0000 00000000 00000000 00000000 0000 0010 00000000', 24, 'BAD_ACTION', 'BAD_LEN', 18, 'action past its bucket'],
    ['0010 0000 00000000 00000000 00000000', 24, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0, 'list longer than the message'],
  ];
  for (const [h, n, type, code, offset, label] of cases) throwsOfp(t, () => readBuckets(new BufferReader(hex(h)), n), type, code, offset, label);

  const bad: Array<[unknown, string, string, number]> = [
    [{ ...BUCKETS[2], weight: 65536 }, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0],
    [{ ...BUCKETS[2], watchPort: -1 }, 'GROUP_MOD_FAILED', 'BAD_WATCH', 0],
    [{ ...BUCKETS[2], watchGroup: 2 ** 32 }, 'GROUP_MOD_FAILED', 'BAD_WATCH', 0],
    [{ ...BUCKETS[2], actions: [{ type: 'OUTPUT', port: 'x', maxLen: 0 }] }, 'BAD_ACTION', 'BAD_OUT_PORT', 16],
    [{ ...BUCKETS[2], actions: undefined }, 'BAD_ACTION', 'BAD_LEN', 16],
    [{ ...BUCKETS[2], actions: Array.from({ length: 4096 }, () => ({ type: 'OUTPUT', port: 1, maxLen: 0 })) }, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0],
    [null, 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0],
  ];
  for (const [bucket, type, code, offset] of bad) {
    const w = new BufferWriter(8);
    throwsOfp(t, () => writeBuckets(w, [bucket as Bucket]), type, code, offset, `bucket ${JSON.stringify(bucket)?.slice(0, 60)}`);
    t.equal(w.pos, 0, 'writer restored');
  }
  throwsOfp(t, () => writeBuckets(new BufferWriter(), 'x' as never), 'GROUP_MOD_FAILED', 'BAD_BUCKET', 0, 'not an array');
  t.end();
});

const BANDS_HEX = [
  '0001 0010 000003e8 00000064 00000000',
  '0002 0010 00002710 000003e8 02 000000',
  'ffff 0018 00000001 00000002 00002320 0102030405060708',
  'ffff 0010 ffffffff ffffffff 4f4e4600',
];
const BANDS: MeterBand[] = [
  { type: 'DROP', rate: 1000, burstSize: 100 },
  { type: 'DSCP_REMARK', rate: 10000, burstSize: 1000, precLevel: 2 },
  { type: 'EXPERIMENTER', rate: 1, burstSize: 2, experimenter: 0x2320, data: hex('0102030405060708') },
  { type: 'EXPERIMENTER', rate: 0xffffffff, burstSize: 0xffffffff, experimenter: 0x4f4e4600, data: Buffer.alloc(0) },
];

t.test('meter bands', (t) => {
  const b = hex(BANDS_HEX.join(''));
  const r = new BufferReader(b);
  t.strictSame(readMeterBands(r, b.length), BANDS);
  t.equal(r.pos, b.length);
  t.equal(encoded((w) => writeMeterBands(w, BANDS)).toString('hex'), b.toString('hex'));
  everyCutFails(t, b, (r, n) => readMeterBands(r, n), 'bands');

  const cases: Array<[string, number, number, string]> = [
    ['0003 0010 00000001 00000001 00000000', 16, 0, 'unknown band type'],
    ['0000 0010 00000001 00000001 00000000', 16, 0, 'band type 0'],
    ['0001 0008 00000001 00000001 00000000', 16, 2, 'len 8'],
    ['0001 0018 00000001 00000001 00000000', 16, 2, 'len past the list'],
    ['0001 0018 00000001 00000001 00000000 00000000 00000000', 24, 2, 'DROP of 24 bytes'],
    ['0002 0018 00000001 00000001 00000000 00000000 00000000', 24, 2, 'DSCP_REMARK of 24 bytes'],
    ['0001 0010 00000001', 8, 0, 'shorter than a band'],
    ['0001 0010 00000001 00000001 00000000', 32, 0, 'list longer than the message'],
  ];
  for (const [h, n, offset, label] of cases) throwsOfp(t, () => readMeterBands(new BufferReader(hex(h)), n), 'METER_MOD_FAILED', 'BAD_BAND', offset, label);

  const bad: Array<[unknown, string, number]> = [
    [{ type: 'DROP', rate: -1, burstSize: 0 }, 'BAD_RATE', 4],
    [{ type: 'DROP', rate: 1, burstSize: 2 ** 32 }, 'BAD_BURST', 8],
    [{ type: 'DSCP_REMARK', rate: 1, burstSize: 1, precLevel: 256 }, 'BAD_BAND_VALUE', 12],
    [{ type: 'EXPERIMENTER', rate: 1, burstSize: 1, experimenter: -1, data: Buffer.alloc(0) }, 'BAD_BAND', 12],
    [{ type: 'EXPERIMENTER', rate: 1, burstSize: 1, experimenter: 1, data: 'ab' }, 'BAD_BAND', 0],
    [{ type: 'EXPERIMENTER', rate: 1, burstSize: 1, experimenter: 1, data: Buffer.alloc(65520) }, 'BAD_BAND', 0],
    [{ type: 'REMARK', rate: 1, burstSize: 1 }, 'BAD_BAND', 0],
    [undefined, 'BAD_BAND', 0],
  ];
  for (const [band, code, offset] of bad) {
    const w = new BufferWriter(8);
    throwsOfp(t, () => writeMeterBands(w, [band as MeterBand]), 'METER_MOD_FAILED', code, offset, `band ${JSON.stringify(band)?.slice(0, 60)}`);
    t.equal(w.pos, 0, 'writer restored');
  }
  t.end();
});

const QUEUES_HEX = [
  '00000001 00000002 0030 000000000000 | 0001 0010 00000000 01f4 000000000000 | 0002 0010 00000000 03e8 000000000000',
  '00000002 00000002 0028 000000000000 | ffff 0018 00000000 00002320 00000000 0a0b0c0d0e0f1011',
  'fffffffe 00000003 0010 000000000000',
];
const QUEUES: PacketQueue[] = [
  { queueId: 1, port: 2, properties: [{ property: 'MIN_RATE', rate: 500 }, { property: 'MAX_RATE', rate: 1000 }] },
  { queueId: 2, port: 2, properties: [{ property: 'EXPERIMENTER', experimenter: 0x2320, data: hex('0a0b0c0d0e0f1011') }] },
  { queueId: 0xfffffffe, port: 3, properties: [] },
];

t.test('packet queues and properties', (t) => {
  for (let i = 0; i < QUEUES.length; i++) {
    const b = hex(QUEUES_HEX[i]!);
    const r = new BufferReader(b);
    t.strictSame(readPacketQueue(r), QUEUES[i], `queue ${i} decodes`);
    t.equal(r.pos, b.length, `queue ${i} consumed`);
    t.equal(encoded((w) => writePacketQueue(w, QUEUES[i]!)).toString('hex'), b.toString('hex'), `queue ${i} encodes`);
    everyCutFails(t, b, (r) => readPacketQueue(r), `queue ${i}`);
  }
  const props = hex('0001 0010 00000000 ffff 000000000000 ffff 0010 00000000 00002320 00000000');
  const list: QueueProperty[] = [{ property: 'MIN_RATE', rate: 0xffff }, { property: 'EXPERIMENTER', experimenter: 0x2320, data: Buffer.alloc(0) }];
  t.strictSame(readQueueProperties(new BufferReader(props), props.length), list);
  t.equal(encoded((w) => writeQueueProperties(w, list)).toString('hex'), props.toString('hex'));
  everyCutFails(t, props, (r, n) => readQueueProperties(r, n), 'properties');

  const cases: Array<[string, string, string, number, string]> = [
    ['00000001 00000002', 'BAD_REQUEST', 'BAD_LEN', 0, 'shorter than a queue header'],
    ['00000001 00000002 0008 000000000000', 'BAD_REQUEST', 'BAD_LEN', 8, 'queue len 8'],
    ['00000001 00000002 0020 000000000000', 'BAD_REQUEST', 'BAD_LEN', 8, 'queue len past the end'],
    ['00000001 00000002 0020 000000000000 0003 0010 00000000 00000000 00000000', 'QUEUE_OP_FAILED', 'BAD_QUEUE', 16, 'unknown property'],
    ['00000001 00000002 0020 000000000000 0001 0008 00000000 00000000 00000000', 'BAD_REQUEST', 'BAD_LEN', 18, 'property len 8'],
    ['00000001 00000002 0028 000000000000 0001 0018 00000000 00000000 00000000 00000000 00000000', 'BAD_REQUEST', 'BAD_LEN', 18, 'MIN_RATE of 24 bytes'],
    ['00000001 00000002 0020 000000000000 0002 0020 00000000 00000000 00000000 00000000 00000000 00000000 00000000', 'BAD_REQUEST', 'BAD_LEN', 18, 'property past its queue'],
    ['00000001 00000002 0018 000000000000 0001 0010 00000000', 'BAD_REQUEST', 'BAD_LEN', 16, 'property shorter than 16'],
  ];
  for (const [h, type, code, offset, label] of cases) throwsOfp(t, () => readPacketQueue(new BufferReader(hex(h))), type, code, offset, label);

  const bad: Array<[unknown, string, string, number]> = [
    [{ queueId: -1, port: 1, properties: [] }, 'QUEUE_OP_FAILED', 'BAD_QUEUE', 0],
    [{ queueId: 1, port: 2 ** 32, properties: [] }, 'QUEUE_OP_FAILED', 'BAD_PORT', 4],
    [{ queueId: 1, port: 1, properties: [{ property: 'MIN_RATE', rate: 70000 }] }, 'QUEUE_OP_FAILED', 'BAD_QUEUE', 24],
    [{ queueId: 1, port: 1, properties: [{ property: 'MAX_RATE' }] }, 'QUEUE_OP_FAILED', 'BAD_QUEUE', 24],
    [{ queueId: 1, port: 1, properties: [{ property: 'EXPERIMENTER', experimenter: 1, data: [1] }] }, 'QUEUE_OP_FAILED', 'BAD_QUEUE', 16],
    [{ queueId: 1, port: 1, properties: [{ property: 'EXPERIMENTER', experimenter: -1, data: Buffer.alloc(0) }] }, 'QUEUE_OP_FAILED', 'BAD_QUEUE', 24],
    [{ queueId: 1, port: 1, properties: [{ property: 'BURST', rate: 1 }] }, 'QUEUE_OP_FAILED', 'BAD_QUEUE', 16],
    [{ queueId: 1, port: 1 }, 'QUEUE_OP_FAILED', 'BAD_QUEUE', 16],
    [{ queueId: 1, port: 1, properties: [{ property: 'EXPERIMENTER', experimenter: 1, data: Buffer.alloc(65520) }] }, 'QUEUE_OP_FAILED', 'BAD_QUEUE', 16],
  ];
  for (const [q, type, code, offset] of bad) {
    const w = new BufferWriter(8);
    throwsOfp(t, () => writePacketQueue(w, q as PacketQueue), type, code, offset, `queue ${JSON.stringify(q)?.slice(0, 80)}`);
    t.equal(w.pos, 0, 'writer restored');
  }
  t.end();
});
