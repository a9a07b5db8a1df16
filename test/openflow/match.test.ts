// OXM match: field table, decode/encode round trips built by hand from the spec layouts
// (7.2.3), error paths with their (type, code, offset), truncation, and validation.
import t from 'tap';
import { OpenFlowError } from '../../src/openflow/errors.js';
import { hex, throwsOfp } from '../util/openflow-asserts.js';
import { BufferReader } from '../../src/openflow/reader.js';
import { BufferWriter } from '../../src/openflow/writer.js';
import { readMatch, readOxmField } from '../../src/openflow/decode/match.js';
import { writeMatch, writeOxmField } from '../../src/openflow/encode/match.js';
import { validateMatch } from '../../src/openflow/validate-match.js';
import {
  describeOxmHeader, OXM_FIELDS, oxmFieldByCode, oxmFieldByName, oxmHeader, oxmHeaderOf,
} from '../../src/openflow/oxm-fields.js';
import type { Match, OxmField } from '../../src/openflow/types/match.js';

const reader = (b: Buffer): BufferReader => new BufferReader(b);

function encodeMatch(m: Match): Buffer {
  const w = new BufferWriter(16);
  writeMatch(w, m);
  return w.toBuffer();
}

/** A whole ofp_match around TLV bytes: header with length, then zero padding to 8. */
function matchBytes(tlvs: string): Buffer {
  const body = hex(tlvs);
  const length = 4 + body.length;
  const out = Buffer.alloc((length + 7) & ~7);
  out.writeUInt16BE(1, 0);
  out.writeUInt16BE(length, 2);
  body.copy(out, 4);
  return out;
}


// One vector per field (and per masked form where the spec allows a mask): the TLV as the
// spec lays it out, and the object it must decode to.
const FIELD_VECTORS: Array<[string, OxmField]> = [
  ['80000004 0000000a', { field: 'in_port', value: 10 }],
  ['80000204 00000002', { field: 'in_phy_port', value: 2 }],
  ['80000408 0123456789abcdef', { field: 'metadata', value: 0x0123456789abcdefn }],
  ['80000510 0123456789abcdef ffffffff00000000', { field: 'metadata', value: 0x0123456789abcdefn, mask: 0xffffffff00000000n }],
  ['80000606 0a1b2c3d4e5f', { field: 'eth_dst', value: '0a:1b:2c:3d:4e:5f' }],
  ['8000070c 010000000000 010000000000', { field: 'eth_dst', value: '01:00:00:00:00:00', mask: '01:00:00:00:00:00' }],
  ['80000806 f20ba47df8ea', { field: 'eth_src', value: 'f2:0b:a4:7d:f8:ea' }],
  ['8000090c f20ba47df800 ffffffffff00', { field: 'eth_src', value: 'f2:0b:a4:7d:f8:00', mask: 'ff:ff:ff:ff:ff:00' }],
  ['80000a02 86dd', { field: 'eth_type', value: 0x86dd }],
  ['80000c02 1064', { field: 'vlan_vid', value: 0x1064 }],
  ['80000d04 1000 1000', { field: 'vlan_vid', value: 0x1000, mask: 0x1000 }],
  ['80000e01 05', { field: 'vlan_pcp', value: 5 }],
  ['80001001 2e', { field: 'ip_dscp', value: 46 }],
  ['80001201 02', { field: 'ip_ecn', value: 2 }],
  ['80001401 06', { field: 'ip_proto', value: 6 }],
  ['80001604 0a000001', { field: 'ipv4_src', value: '10.0.0.1' }],
  ['80001708 0a000000 ffffff00', { field: 'ipv4_src', value: '10.0.0.0', mask: '255.255.255.0' }],
  ['80001804 c0a80101', { field: 'ipv4_dst', value: '192.168.1.1' }],
  ['80001908 c0a80000 ffff0000', { field: 'ipv4_dst', value: '192.168.0.0', mask: '255.255.0.0' }],
  ['80001a02 0050', { field: 'tcp_src', value: 80 }],
  ['80001c02 01bb', { field: 'tcp_dst', value: 443 }],
  ['80001e02 0035', { field: 'udp_src', value: 53 }],
  ['80002002 12b5', { field: 'udp_dst', value: 4789 }],
  ['80002202 0b59', { field: 'sctp_src', value: 2905 }],
  ['80002402 ffff', { field: 'sctp_dst', value: 65535 }],
  ['80002601 08', { field: 'icmpv4_type', value: 8 }],
  ['80002801 00', { field: 'icmpv4_code', value: 0 }],
  ['80002a02 0002', { field: 'arp_op', value: 2 }],
  ['80002c04 0a000001', { field: 'arp_spa', value: '10.0.0.1' }],
  ['80002d08 0a000000 ff000000', { field: 'arp_spa', value: '10.0.0.0', mask: '255.0.0.0' }],
  ['80002e04 ffffffff', { field: 'arp_tpa', value: '255.255.255.255' }],
  ['80002f08 00000000 00000000', { field: 'arp_tpa', value: '0.0.0.0', mask: '0.0.0.0' }],
  ['80003006 000000000001', { field: 'arp_sha', value: '00:00:00:00:00:01' }],
  ['8000310c 000000000001 0000000000ff', { field: 'arp_sha', value: '00:00:00:00:00:01', mask: '00:00:00:00:00:ff' }],
  ['80003206 ffffffffffff', { field: 'arp_tha', value: 'ff:ff:ff:ff:ff:ff' }],
  ['8000330c aabbccddeeff ffffffffffff', { field: 'arp_tha', value: 'aa:bb:cc:dd:ee:ff', mask: 'ff:ff:ff:ff:ff:ff' }],
  ['80003410 20010db8000000000000000000000001', { field: 'ipv6_src', value: '2001:db8::1' }],
  ['80003520 20010db8000000000000000000000000 ffffffffffffffff0000000000000000',
    { field: 'ipv6_src', value: '2001:db8::', mask: 'ffff:ffff:ffff:ffff::' }],
  ['80003610 fe800000000000000a606efffe7f74e7', { field: 'ipv6_dst', value: 'fe80::a60:6eff:fe7f:74e7' }],
  ['80003720 ff020000000000000000000000000001 ffff0000000000000000000000000000',
    { field: 'ipv6_dst', value: 'ff02::1', mask: 'ffff::' }],
  ['80003804 000abcde', { field: 'ipv6_flabel', value: 0xabcde }],
  ['80003908 000abcde 000fffff', { field: 'ipv6_flabel', value: 0xabcde, mask: 0xfffff }],
  ['80003a01 87', { field: 'icmpv6_type', value: 135 }],
  ['80003c01 00', { field: 'icmpv6_code', value: 0 }],
  ['80003e10 00000000000000000000ffffc0000221', { field: 'ipv6_nd_target', value: '::ffff:192.0.2.33' }],
  ['80004006 0a0000000001', { field: 'ipv6_nd_sll', value: '0a:00:00:00:00:01' }],
  ['80004206 0a0000000002', { field: 'ipv6_nd_tll', value: '0a:00:00:00:00:02' }],
  ['80004404 000fffff', { field: 'mpls_label', value: 0xfffff }],
  ['80004601 07', { field: 'mpls_tc', value: 7 }],
  ['80004801 01', { field: 'mpls_bos', value: 1 }],
  ['80004a03 abcdef', { field: 'pbb_isid', value: 0xabcdef }],
  ['80004b06 abcd00 ffff00', { field: 'pbb_isid', value: 0xabcd00, mask: 0xffff00 }],
  ['80004c08 0000000000001388', { field: 'tunnel_id', value: 5000n }],
  ['80004d10 ffffffffffffffff ffffffffffffffff', { field: 'tunnel_id', value: 0xffffffffffffffffn, mask: 0xffffffffffffffffn }],
  ['80004e02 01ff', { field: 'ipv6_exthdr', value: 0x1ff }],
  ['80004f04 0001 0041', { field: 'ipv6_exthdr', value: 0x0001, mask: 0x0041 }],
  // Not basic fields: kept opaque, byte for byte.
  ['00010004 0000000a', { field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, data: hex('0000000a') }],
  ['00010308 00000001 000000ff', { field: 'opaque', oxmClass: 1, oxmField: 1, hasMask: true, data: hex('00000001000000ff') }],
  ['ffff0007 4f4e4600 0a0001', { field: 'opaque', oxmClass: 0xffff, oxmField: 0, hasMask: false, data: hex('4f4e46000a0001') }],
  ['80005002 1234', { field: 'opaque', oxmClass: 0x8000, oxmField: 40, hasMask: false, data: hex('1234') }],
  ['80007e01 ff', { field: 'opaque', oxmClass: 0x8000, oxmField: 63, hasMask: false, data: hex('ff') }],
];

t.test('field table', (t) => {
  t.equal(OXM_FIELDS.length, 40, '40 OpenFlow-basic fields');
  OXM_FIELDS.forEach((spec, i) => {
    t.equal(spec.code, i, `${spec.name} is at its code`);
    t.equal(oxmFieldByName(spec.name), spec, `lookup ${spec.name} by name`);
    t.equal(oxmFieldByCode(0x8000, i), spec, `lookup ${spec.name} by (class, field)`);
  });
  t.equal(oxmFieldByCode(0x0001, 0), undefined, 'NXM_1 fields are not basic');
  t.equal(oxmFieldByCode(0x8000, 40), undefined, 'code 40 is not an OpenFlow 1.3 field');
  t.equal(oxmFieldByName('nope'), undefined);
  // Every field has a vector above, and every maskable field a masked one: ties the table's
  // lengths and mask flags to hand-written spec layouts.
  for (const spec of OXM_FIELDS) {
    const plain = FIELD_VECTORS.find(([, f]) => f.field === spec.name && !('mask' in f));
    t.ok(plain, `${spec.name} has an unmasked vector`);
    if (plain) t.equal(hex(plain[0]).length, 4 + spec.length, `${spec.name} payload length ${spec.length}`);
    const masked = FIELD_VECTORS.some(([, f]) => f.field === spec.name && 'mask' in f);
    t.equal(masked, spec.maskable, `${spec.name} maskable=${spec.maskable}`);
  }
  const maskable = OXM_FIELDS.filter((s) => s.maskable).map((s) => s.name);
  t.strictSame(maskable, [
    'metadata', 'eth_dst', 'eth_src', 'vlan_vid', 'ipv4_src', 'ipv4_dst', 'arp_spa', 'arp_tpa', 'arp_sha',
    'arp_tha', 'ipv6_src', 'ipv6_dst', 'ipv6_flabel', 'pbb_isid', 'tunnel_id', 'ipv6_exthdr',
  ], 'maskable set per spec table 12');
  t.end();
});

t.test('OXM header helpers', (t) => {
  t.equal(oxmHeaderOf('in_port'), 0x80000004);
  t.equal(oxmHeaderOf('eth_dst', true), 0x8000070c);
  t.equal(oxmHeaderOf('ipv6_exthdr', true), 0x80004f04);
  t.equal(oxmHeader(0x0001, 0, false, 4), 0x00010004);
  t.equal(oxmHeader(0xffff, 127, true, 255), 0xffffffff);
  t.strictSame(describeOxmHeader(0x80000d04), { field: 'vlan_vid', oxmClass: 0x8000, oxmField: 6, hasMask: true, length: 4 });
  t.strictSame(describeOxmHeader(0x00010308), { field: 'opaque', oxmClass: 1, oxmField: 1, hasMask: true, length: 8 });
  t.strictSame(describeOxmHeader(0x80005002), { field: 'opaque', oxmClass: 0x8000, oxmField: 40, hasMask: false, length: 2 });
  t.throws(() => oxmHeader(0x10000, 0, false, 4), RangeError);
  t.throws(() => oxmHeader(0x8000, 128, false, 4), RangeError);
  t.throws(() => oxmHeader(0x8000, 0, false, 256), RangeError);
  t.throws(() => oxmHeaderOf('bogus' as never), RangeError);
  t.end();
});

t.test('every field round trips byte-exactly, alone and in a match', (t) => {
  for (const [tlv, field] of FIELD_VECTORS) {
    const label = `${field.field === 'opaque' ? `opaque ${field.oxmClass}/${field.oxmField}` : field.field}${'mask' in field || (field.field === 'opaque' && field.hasMask) ? ' masked' : ''}`;
    const bytes = hex(tlv);
    const r = reader(bytes);
    t.strictSame(readOxmField(r), field, `${label}: decodes`);
    t.equal(r.pos, bytes.length, `${label}: consumes the TLV`);
    const w = new BufferWriter(8);
    writeOxmField(w, field);
    t.equal(w.toBuffer().toString('hex'), bytes.toString('hex'), `${label}: encodes`);

    const m = matchBytes(tlv);
    const mr = reader(m);
    t.strictSame(readMatch(mr), { fields: [field] }, `${label}: match decodes`);
    t.equal(mr.pos, m.length, `${label}: cursor after the padding`);
    t.equal(encodeMatch({ fields: [field] }).toString('hex'), m.toString('hex'), `${label}: match encodes`);
  }
  t.end();
});

t.test('match framing', (t) => {
  t.equal(encodeMatch({ fields: [] }).toString('hex'), '0001000400000000', 'empty match: length 4, 4 bytes of padding');
  const one = encodeMatch({ fields: [{ field: 'in_port', value: 1 }] });
  t.equal(one.toString('hex'), '0001000c' + '8000000400000001' + '00000000', 'length excludes padding');
  const exact = encodeMatch({ fields: [{ field: 'in_port', value: 1 }, { field: 'eth_type', value: 0x800 }, { field: 'ip_proto', value: 17 }, { field: 'ip_ecn', value: 0 }] });
  t.equal(exact.readUInt16BE(2), 4 + 8 + 6 + 5 + 5);
  t.equal(exact.length, 32);

  // All fields of FIELD_VECTORS in one match: one decode, one encode, same bytes.
  const all = matchBytes(FIELD_VECTORS.map(([h]) => h).join(''));
  const decoded = readMatch(reader(all));
  t.equal(decoded.fields.length, FIELD_VECTORS.length);
  t.equal(encodeMatch(decoded).toString('hex'), all.toString('hex'), 'big match round trips');

  // A match inside a message: the cursor stops after the padding, the rest is untouched.
  const msg = Buffer.concat([hex('deadbeef'), matchBytes('80000004 00000003'), hex('cafe')]);
  const r = new BufferReader(msg, 4, msg.length, 0);
  t.strictSame(readMatch(r), { fields: [{ field: 'in_port', value: 3 }] });
  t.equal(r.pos, 4 + 16);

  // Decoded payloads of opaque fields are views, not copies.
  const op = matchBytes('00010004 0000000a');
  const of = readMatch(reader(op)).fields[0]!;
  t.ok(of.field === 'opaque' && of.data.buffer === op.buffer, 'opaque data is a view');
  t.end();
});

t.test('decode errors', (t) => {
  const cases: Array<[string, string, string, number, string]> = [
    ['0000 0004 00000000', 'BAD_MATCH', 'BAD_TYPE', 0, 'OFPMT_STANDARD'],
    ['0002 0004 00000000', 'BAD_MATCH', 'BAD_TYPE', 0, 'unknown match type'],
    ['00', 'BAD_MATCH', 'BAD_LEN', 0, '1 byte'],
    ['0001 00', 'BAD_MATCH', 'BAD_LEN', 0, 'header cut'],
    ['0001 0003 00000000', 'BAD_MATCH', 'BAD_LEN', 2, 'length below 4'],
    ['0001 0000 00000000', 'BAD_MATCH', 'BAD_LEN', 2, 'length 0'],
    ['0001 0010 00000000', 'BAD_MATCH', 'BAD_LEN', 2, 'length past the end'],
    ['0001 000c 80000004 00000001', 'BAD_MATCH', 'BAD_LEN', 2, 'padding missing'],
    ['0001 0006 8000 0000', 'BAD_MATCH', 'BAD_LEN', 4, 'TLV header cut by the match length'],
    ['0001 000a 80000004 0000 000000000000', 'BAD_MATCH', 'BAD_LEN', 7, 'TLV runs past the match length'],
    ['0001 0008 80000000', 'BAD_MATCH', 'BAD_LEN', 7, 'oxm_length 0'],
    ['0001 000a 80000002 0001 000000000000', 'BAD_MATCH', 'BAD_LEN', 7, 'in_port with 2-byte payload'],
    ['0001 000e 80000006 000000000001 0000', 'BAD_MATCH', 'BAD_LEN', 7, 'in_port with 6-byte payload'],
    ['0001 000e 80000706 0a0000000001 0000', 'BAD_MATCH', 'BAD_LEN', 7, 'masked eth_dst without the mask'],
    ['0001 0015 80000c02 1064 80000a02 0800 80001401 06 0000', 'BAD_MATCH', 'BAD_LEN', 2, 'padding cut short after fields'],
    ['0001 0010 80000a02 0800 80000d02 1000', 'BAD_MATCH', 'BAD_LEN', 13, 'second TLV bad (masked vlan_vid length 2)'],
    ['0001 000a ffff0002 abcd 000000000000', 'BAD_MATCH', 'BAD_LEN', 7, 'experimenter TLV shorter than its id'],
  ];
  for (const [h, type, code, offset, label] of cases) throwsOfp(t, () => readMatch(reader(hex(h))), type, code, offset, label);

  // Offsets are relative to the message start (the reader's base), not the buffer.
  const inMsg = Buffer.concat([Buffer.alloc(48), hex('0001 000a 80000002 0001 000000000000')]);
  throwsOfp(t, () => readMatch(new BufferReader(inMsg, 48, inMsg.length, 0)), 'BAD_MATCH', 'BAD_LEN', 55, 'offset within a message');
  const shifted = Buffer.concat([Buffer.alloc(10), inMsg]);
  throwsOfp(t, () => readMatch(new BufferReader(shifted, 58, shifted.length, 10)), 'BAD_MATCH', 'BAD_LEN', 55, 'message not at buffer start');

  // readOxmField on its own.
  throwsOfp(t, () => readOxmField(reader(hex('800000'))), 'BAD_MATCH', 'BAD_LEN', 0, 'lone TLV header cut');
  throwsOfp(t, () => readOxmField(reader(hex('80000004 0000'))), 'BAD_MATCH', 'BAD_LEN', 3, 'lone TLV payload cut');
  t.end();
});

t.test('truncation at every byte raises OpenFlowError', (t) => {
  const full = matchBytes(FIELD_VECTORS.map(([h]) => h).join(''));
  let failures = 0;
  for (let n = 0; n < full.length; n++) {
    try {
      readMatch(reader(full.subarray(0, n)));
      failures++;
      t.fail(`decoded a match cut at ${n} bytes`);
    } catch (err) {
      if (!(err instanceof OpenFlowError)) {
        failures++;
        t.fail(`cut at ${n}: ${String(err)}`);
      }
    }
  }
  t.equal(failures, 0, `all ${full.length} truncations rejected with OpenFlowError`);
  // Same, with the match length claiming fewer bytes than the TLVs need (cut inside a TLV).
  const body = hex(FIELD_VECTORS.map(([h]) => h).join(''));
  let boundaries = 0;
  for (let n = 0; n < body.length; n++) {
    const m = Buffer.concat([hex('0001'), Buffer.from([((4 + n) >> 8) & 0xff, (4 + n) & 0xff]), body.subarray(0, n), Buffer.alloc(8)]);
    try {
      readMatch(reader(m));
      boundaries++; // cut exactly between two TLVs: a valid, shorter match
    } catch (err) {
      if (!(err instanceof OpenFlowError)) t.fail(`TLVs cut at ${n}: ${String(err)}`);
    }
  }
  t.equal(boundaries, FIELD_VECTORS.length, 'only cuts between TLVs decode');
  t.end();
});

t.test('decode tolerates invalid but well-formed matches; encode writes them back', (t) => {
  const bytes = matchBytes('80000a02 0800 80000a02 0800 80000108 00000001 ffffffff 80001a02 0050');
  const m = readMatch(reader(bytes));
  t.strictSame(m.fields, [
    { field: 'eth_type', value: 0x800 },
    { field: 'eth_type', value: 0x800 },
    { field: 'in_port', value: 1, mask: 0xffffffff },
    { field: 'tcp_src', value: 80 },
  ]);
  t.equal(encodeMatch(m).toString('hex'), bytes.toString('hex'));
  t.end();
});

t.test('encode errors name the field', (t) => {
  const bad: Array<[OxmField, string, string]> = [
    [{ field: 'ip_sauce' as never, value: 1 }, 'BAD_MATCH', 'BAD_FIELD'],
    [{ field: 'tcp_dst', value: '80' }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'tcp_dst', value: 65536 }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'tcp_dst', value: -1 }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'tcp_dst', value: 1.5 }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'vlan_pcp', value: 256 }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'pbb_isid', value: 0x1000000 }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'in_port', value: 2 ** 32 }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'metadata', value: 1 }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'metadata', value: 1n << 64n }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'tunnel_id', value: -1n }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'eth_dst', value: 'aa:bb:cc:dd:ee' }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'eth_dst', value: 'aa:bb:cc:dd:ee:fg' }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'eth_dst', value: 0xaabbccddeeff }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'ipv4_src', value: '10.0.0.256' }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'ipv6_src', value: '2001:db8:::1' }, 'BAD_MATCH', 'BAD_VALUE'],
    [{ field: 'eth_dst', value: '01:00:00:00:00:00', mask: 'ff' }, 'BAD_MATCH', 'BAD_MASK'],
    [{ field: 'ipv4_dst', value: '10.0.0.0', mask: 24 }, 'BAD_MATCH', 'BAD_MASK'],
    [{ field: 'opaque', oxmClass: 0x10000, oxmField: 0, hasMask: false, data: hex('00') }, 'BAD_MATCH', 'BAD_FIELD'],
    [{ field: 'opaque', oxmClass: 1, oxmField: 128, hasMask: false, data: hex('00') }, 'BAD_MATCH', 'BAD_FIELD'],
    [{ field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, data: Buffer.alloc(0) }, 'BAD_MATCH', 'BAD_LEN'],
    [{ field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, data: Buffer.alloc(256) }, 'BAD_MATCH', 'BAD_LEN'],
    [{ field: 'opaque', oxmClass: 0xffff, oxmField: 0, hasMask: false, data: hex('4f4e46') }, 'BAD_MATCH', 'BAD_LEN'],
  ];
  for (const [field, type, code] of bad) {
    const w = new BufferWriter(8);
    w.u32(0xdeadbeef);
    throwsOfp(t, () => writeMatch(w, { fields: [{ field: 'in_port', value: 1 }, field] }), type, code, 16, `encode ${JSON.stringify(field, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
    t.equal(w.pos, 4, 'writer restored after the error');
  }
  try {
    encodeMatch({ fields: [{ field: 'eth_src', value: 'nope' }] });
  } catch (err) {
    t.match((err as Error).message, /eth_src/, 'message names the field');
  }
  throwsOfp(t, () => encodeMatch({} as Match), 'BAD_MATCH', 'BAD_LEN', 0, 'fields missing');
  t.end();
});

t.test('validation', (t) => {
  const codes = (fields: OxmField[]): string[] => validateMatch({ fields }).map((e) => `${e.codeName}@${e.offset}`);
  const ip = { field: 'eth_type', value: 0x800 } as const;
  const ip6 = { field: 'eth_type', value: 0x86dd } as const;

  t.strictSame(codes([]), [], 'empty match');
  t.strictSame(codes([{ field: 'in_port', value: 1 }, ip, { field: 'ip_proto', value: 6 }, { field: 'tcp_dst', value: 22 },
    { field: 'ipv4_src', value: '10.0.0.0', mask: '255.0.0.0' }]), [], 'IPv4 TCP match');
  t.strictSame(codes([ip6, { field: 'ip_proto', value: 58 }, { field: 'icmpv6_type', value: 135 },
    { field: 'ipv6_nd_target', value: 'fe80::1' }, { field: 'ipv6_nd_sll', value: '00:00:00:00:00:01' }]), [], 'neighbour solicitation chain');
  t.strictSame(codes([ip6, { field: 'ip_proto', value: 58 }, { field: 'icmpv6_type', value: 135 }, { field: 'ipv6_nd_tll', value: '00:00:00:00:00:01' }]),
    ['BAD_PREREQ@20'], 'nd_tll needs icmpv6_type 136');
  t.strictSame(codes([{ field: 'ipv4_src', value: '10.0.0.1' }]), ['BAD_PREREQ@4'], 'ipv4_src without eth_type');
  t.strictSame(codes([{ field: 'ipv4_src', value: '10.0.0.1' }, ip]), ['BAD_PREREQ@4'], 'prerequisite after the field');
  t.strictSame(codes([ip6, { field: 'ipv4_dst', value: '10.0.0.1' }]), ['BAD_PREREQ@10'], 'ipv4 field under IPv6 eth_type');
  t.strictSame(codes([{ field: 'eth_type', value: 0x800, mask: 0xffff }, { field: 'ip_proto', value: 6 }]),
    ['BAD_MASK@4', 'BAD_PREREQ@12'], 'masked prerequisite');
  t.strictSame(codes([ip, { field: 'tcp_src', value: 1 }]), ['BAD_PREREQ@10'], 'tcp_src without ip_proto');
  t.strictSame(codes([ip, { field: 'ip_proto', value: 17 }, { field: 'tcp_src', value: 1 }]), ['BAD_PREREQ@15'], 'tcp_src under UDP');
  t.strictSame(codes([{ field: 'ip_proto', value: 6 }, { field: 'tcp_src', value: 1 }]), ['BAD_PREREQ@4'], 'ip_proto without eth_type: reported on ip_proto');
  t.strictSame(codes([{ field: 'eth_type', value: 0x8847 }, { field: 'mpls_label', value: 16 }, { field: 'mpls_bos', value: 1 }]), [], 'MPLS');
  t.strictSame(codes([{ field: 'eth_type', value: 0x88e7 }, { field: 'pbb_isid', value: 5, mask: 0xff }]), [], 'PBB');
  t.strictSame(codes([{ field: 'eth_type', value: 0x806 }, { field: 'arp_op', value: 1 }, { field: 'arp_tha', value: '00:00:00:00:00:00' }]), [], 'ARP');
  t.strictSame(codes([{ field: 'in_phy_port', value: 3 }]), ['BAD_PREREQ@4'], 'in_phy_port needs in_port');
  t.strictSame(codes([{ field: 'in_port', value: 3 }, { field: 'in_phy_port', value: 3 }]), []);

  // vlan_pcp needs VLAN_VID != NONE.
  t.strictSame(codes([{ field: 'vlan_vid', value: 0x1005 }, { field: 'vlan_pcp', value: 3 }]), [], 'pcp with an exact VID');
  t.strictSame(codes([{ field: 'vlan_vid', value: 0x1000, mask: 0x1000 }, { field: 'vlan_pcp', value: 3 }]), [], 'pcp with any VID');
  t.strictSame(codes([{ field: 'vlan_vid', value: 0 }, { field: 'vlan_pcp', value: 3 }]), ['BAD_PREREQ@10'], 'pcp with no VLAN');
  t.strictSame(codes([{ field: 'vlan_pcp', value: 3 }]), ['BAD_PREREQ@4'], 'pcp alone');
  t.strictSame(codes([{ field: 'vlan_vid', value: 0x0005, mask: 0x0fff }, { field: 'vlan_pcp', value: 3 }]), ['BAD_PREREQ@12'], 'pcp with a VID that may be absent');
  t.strictSame(codes([{ field: 'vlan_vid', value: 5 }]), ['BAD_VALUE@4'], 'VID without OFPVID_PRESENT');
  t.strictSame(codes([{ field: 'vlan_vid', value: 0x2000 }]), ['BAD_VALUE@4'], 'VID above 13 bits');

  // Duplicates, masks, wildcards.
  t.strictSame(codes([ip, ip]), ['DUP_FIELD@10'], 'duplicate eth_type');
  t.strictSame(codes([{ field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: false, data: hex('00000001') },
    { field: 'opaque', oxmClass: 1, oxmField: 0, hasMask: true, data: hex('0000000100000001') }]), ['DUP_FIELD@12'], 'duplicate NXM register');
  t.strictSame(codes([{ field: 'opaque', oxmClass: 0xffff, oxmField: 1, hasMask: false, data: hex('00002320') },
    { field: 'opaque', oxmClass: 0xffff, oxmField: 1, hasMask: false, data: hex('4f4e4600') }]), [], 'experimenter fields differ by experimenter id');
  t.strictSame(codes([{ field: 'opaque', oxmClass: 0x8000, oxmField: 40, hasMask: false, data: hex('0001') }]), ['BAD_FIELD@4'], 'basic code 40 is undefined');
  t.strictSame(codes([{ field: 'opaque', oxmClass: 0x8000, oxmField: 0, hasMask: false, data: hex('0001') }]), ['BAD_LEN@4'], 'raw in_port TLV of 2 bytes');
  t.strictSame(codes([{ field: 'opaque', oxmClass: 0x8000, oxmField: 0, hasMask: true, data: hex('0000000100000001') }]), ['BAD_MASK@4'], 'raw masked in_port TLV');
  t.strictSame(codes([{ field: 'opaque', oxmClass: 0x8000, oxmField: 3, hasMask: true, data: hex('010000000000 010000000000') }]), [], 'raw masked eth_dst TLV');
  t.strictSame(codes([{ field: 'in_port', value: 1 }, { field: 'opaque', oxmClass: 0x8000, oxmField: 0, hasMask: false, data: hex('00000001') }]),
    ['DUP_FIELD@12'], 'raw TLV duplicates the named field');
  t.strictSame(codes([{ field: 'in_port', value: 1, mask: 1 }]), ['BAD_MASK@4'], 'in_port cannot be masked');
  t.strictSame(codes([{ field: 'eth_dst', value: '01:00:00:00:00:01', mask: '01:00:00:00:00:00' }]), ['BAD_WILDCARDS@4'], 'MAC value outside mask');
  t.strictSame(codes([ip, { field: 'ipv4_dst', value: '10.0.0.1', mask: '255.255.255.0' }]), ['BAD_WILDCARDS@10'], 'IPv4 value outside mask');
  t.strictSame(codes([{ field: 'metadata', value: 3n, mask: 2n }]), ['BAD_WILDCARDS@4'], 'metadata value outside mask');
  t.strictSame(codes([ip6, { field: 'ipv6_src', value: '2001:db8::1', mask: 'ffff:ffff::' }]), ['BAD_WILDCARDS@10'], 'IPv6 value outside mask');
  t.strictSame(codes([{ field: 'tunnel_id', value: 0n, mask: 0n }]), [], 'all-zero mask is allowed');

  // Value ranges.
  t.strictSame(codes([ip, { field: 'ip_dscp', value: 64 }]), ['BAD_VALUE@10'], 'DSCP is 6 bits');
  t.strictSame(codes([ip, { field: 'ip_ecn', value: 4 }]), ['BAD_VALUE@10'], 'ECN is 2 bits');
  t.strictSame(codes([{ field: 'eth_type', value: 0x8847 }, { field: 'mpls_label', value: 0x100000 }]), ['BAD_VALUE@10'], 'MPLS label is 20 bits');
  t.strictSame(codes([{ field: 'eth_type', value: 0x8847 }, { field: 'mpls_bos', value: 2 }]), ['BAD_VALUE@10'], 'BoS is 1 bit');
  t.strictSame(codes([ip6, { field: 'ipv6_flabel', value: 0x100000 }]), ['BAD_VALUE@10'], 'flow label is 20 bits');
  t.strictSame(codes([ip6, { field: 'ipv6_exthdr', value: 0x200 }]), ['BAD_VALUE@10'], 'exthdr is 9 bits');
  t.strictSame(codes([{ field: 'in_port', value: 0 }]), ['BAD_VALUE@4'], 'port 0');
  t.strictSame(codes([{ field: 'in_port', value: 0xffffffff }]), ['BAD_VALUE@4'], 'OFPP_ANY as in_port');
  t.strictSame(codes([{ field: 'in_port', value: 0xfffffffb }]), ['BAD_VALUE@4'], 'OFPP_FLOOD as in_port');
  t.strictSame(codes([{ field: 'in_port', value: 0xfffffffe }]), [], 'OFPP_LOCAL as in_port');
  t.strictSame(codes([{ field: 'in_port', value: 0xfffffffd }]), [], 'OFPP_CONTROLLER as in_port');
  t.strictSame(codes([{ field: 'in_port', value: 0xffffff00 }]), [], 'OFPP_MAX as in_port');
  t.strictSame(codes([{ field: 'in_port', value: 1 }, { field: 'in_phy_port', value: 0xfffffffe }]), ['BAD_VALUE@12'], 'in_phy_port must be physical');
  t.strictSame(codes([{ field: 'tcp_dst', value: 'x' }]), ['BAD_VALUE@4', 'BAD_PREREQ@4'], 'wrong kind');
  t.strictSame(codes([{ field: 'eth_src', value: '00:00:00:00:00:01', mask: 'zz' }]), ['BAD_MASK@4'], 'mask of the wrong kind');
  t.strictSame(codes([{ field: 'bogus' as never, value: 1 }, { field: 'in_port', value: 1 }]), ['BAD_FIELD@4'], 'unknown field name');

  const [e] = validateMatch({ fields: [{ field: 'tcp_src', value: 1 }] });
  t.ok(e instanceof OpenFlowError);
  t.match(e!.message, /tcp_src needs ip_proto=6/, 'message says what is missing');
  const [after] = validateMatch({ fields: [{ field: 'udp_src', value: 1 }, { field: 'ip_proto', value: 17 }] });
  t.match(after!.message, /must come before it/, 'message explains the order rule');
  t.end();
});
