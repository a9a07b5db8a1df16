// MAC / IPv4 / IPv6 text <-> bytes. IPv6 output is checked against RFC 5952 examples and,
// for random addresses, against the WHATWG URL serializer (same compression rules) and
// Node's net.isIPv6 / net.isIPv4 as independent oracles for what is valid text.
import t from 'tap';
import net from 'node:net';
import {
  formatIpv4, formatIpv6, formatMac, isIpv4, isIpv6, isMac, parseIpv4, parseIpv4Into, parseIpv6,
  parseIpv6Into, parseMac, parseMacInto, writeIpv4, writeIpv6, writeMac,
} from '../../src/openflow/addr.js';
import { OpenFlowError } from '../../src/openflow/errors.js';
import { BufferWriter } from '../../src/openflow/writer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');

/** Small deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

t.test('MAC', (t) => {
  t.equal(formatMac(hex('0a1b2c3d4e5f'), 0), '0a:1b:2c:3d:4e:5f');
  t.equal(formatMac(hex('00 ffffffffffff'), 1), 'ff:ff:ff:ff:ff:ff', 'at an offset');
  t.equal(parseMac('0A:1b:2C:3d:4E:5f').toString('hex'), '0a1b2c3d4e5f', 'mixed case');
  t.equal(parseMac('0a-1b-2c-3d-4e-5f').toString('hex'), '0a1b2c3d4e5f', 'dash separators');
  for (const bad of ['', '0a:1b:2c:3d:4e', '0a:1b:2c:3d:4e:5f:', '0a:1b:2c:3d:4e:5g', '0a-1b:2c:3d:4e:5f', '0a1b2c3d4e5f',
    ' 0a:1b:2c:3d:4e:5f', '0a:1b:2c:3d:4e:5', 'a:b:c:d:e:f', '0a:1b:2c:3d:4e:5f ']) {
    t.notOk(isMac(bad), `rejects ${JSON.stringify(bad)}`);
  }
  t.notOk(isMac(12 as never), 'rejects a number');
  t.throws(() => parseMac('nope'), OpenFlowError);
  try {
    parseMac('nope', 'PORT_MOD_FAILED', 'BAD_HW_ADDR', 'hw_addr', 16);
  } catch (err) {
    const e = err as OpenFlowError;
    t.equal(`${e.typeName}/${e.codeName}@${e.offset}`, 'PORT_MOD_FAILED/BAD_HW_ADDR@16', 'caller picks the error');
    t.match(e.message, /hw_addr: "nope"/);
  }
  const w = new BufferWriter(2);
  w.u8(7);
  writeMac(w, 'aa:bb:cc:dd:ee:ff');
  t.equal(w.toBuffer().toString('hex'), '07aabbccddeeff', 'writeMac grows the writer');
  t.throws(() => writeMac(w, 'zz:bb:cc:dd:ee:ff'), OpenFlowError);
  t.equal(w.pos, 7, 'failed write leaves the writer as it was');
  const out = Buffer.alloc(8);
  t.ok(parseMacInto('01:02:03:04:05:06', out, 2));
  t.equal(out.toString('hex'), '0000010203040506');
  // Every byte value survives format → parse.
  for (let b = 0; b < 256; b++) {
    const bytes = Buffer.from([b, 255 - b, b, 0, b, 1]);
    if (!parseMac(formatMac(bytes, 0)).equals(bytes)) t.fail(`byte ${b}`);
  }
  t.end();
});

t.test('IPv4', (t) => {
  t.equal(formatIpv4(hex('0a000001'), 0), '10.0.0.1');
  t.equal(formatIpv4(hex('ff ffffffff'), 1), '255.255.255.255');
  t.equal(parseIpv4('192.168.1.254').toString('hex'), 'c0a801fe');
  t.equal(parseIpv4('0.0.0.0').toString('hex'), '00000000');
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', '1..3.4', '1.2.3.', '.1.2.3',
    '1.2.3.-4', '1.2.3.1000', '0x1.2.3.4', '1.2.3.4/24']) {
    t.notOk(isIpv4(bad), `rejects ${JSON.stringify(bad)}`);
    t.equal(isIpv4(bad), net.isIPv4(bad), `agrees with net.isIPv4 on ${JSON.stringify(bad)}`);
  }
  t.notOk(isIpv4(undefined as never));
  const w = new BufferWriter(1);
  writeIpv4(w, '10.1.2.3');
  t.equal(w.toBuffer().toString('hex'), '0a010203');
  t.throws(() => writeIpv4(w, '10.1.2'), OpenFlowError);
  t.equal(w.pos, 4);
  const rnd = prng(4);
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from([rnd() * 256, rnd() * 256, rnd() * 256, rnd() * 256].map(Math.floor));
    const s = formatIpv4(b, 0);
    if (!net.isIPv4(s) || !parseIpv4(s).equals(b)) t.fail(`${b.toString('hex')} -> ${s}`);
  }
  const out = Buffer.alloc(6);
  t.ok(parseIpv4Into('1.2.3.4', out, 2));
  t.equal(out.toString('hex'), '000001020304');
  t.end();
});

t.test('IPv6 RFC 5952 output', (t) => {
  const cases: Array<[string, string]> = [
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['00010000000000000000000000000000', '1::'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], // first of two equal runs
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'], // longest run wins
    ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['20010db8aaaabbbbccccddddeeeeffff', '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff'],
    ['fe80000000000000f00ba4fffe4828a5', 'fe80::f00b:a4ff:fe48:28a5'],
    ['00000000000000000000ffffc0000221', '::ffff:192.0.2.33'], // IPv4-mapped, RFC 5952 section 5
    ['00000000000000000000ffff00000000', '::ffff:0.0.0.0'],
    ['0000000000000000000000000a000001', '::a00:1'], // IPv4-compatible (deprecated): plain hex
    ['0064ff9b0000000000000000c0000221', '64:ff9b::c000:221'],
    ['00000000000000000001000000000000', '::1:0:0:0'], // longest run first
    ['00000000000100000000000100010001', '::1:0:0:1:1:1'], // tie: first run
    ['00010000000100000001000000010000', '1:0:1:0:1:0:1:0'],
  ];
  for (const [h, s] of cases) {
    t.equal(formatIpv6(hex(h), 0), s, s);
    t.equal(parseIpv6(s).toString('hex'), h, `${s} parses back`);
  }
  t.end();
});

t.test('IPv6 input forms', (t) => {
  const same: Array<[string, string]> = [
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::FFFF:102:304', '::ffff:1.2.3.4'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['::1.2.3.4', '::102:304'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
  ];
  for (const [input, canonical] of same) t.equal(formatIpv6(parseIpv6(input), 0), canonical, `${input} -> ${canonical}`);
  const bad = [
    '', ':', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', ':1::', '1::2:', '1:2:3:4:5:6:7:8::',
    '::1.2.3', '1.2.3.4::', '::1.2.3.4:5', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', 'g::1', '::01.2.3.4', '1:2:3:4:5:6:7:8:',
    ':1:2:3:4:5:6:7', '[::1]', ' ::1', '::1 ', '1.2.3.4',
  ];
  for (const s of bad) {
    t.notOk(isIpv6(s), `rejects ${JSON.stringify(s)}`);
    t.equal(isIpv6(s), net.isIPv6(s) && !s.includes('%'), `agrees with net.isIPv6 on ${JSON.stringify(s)}`);
  }
  t.notOk(isIpv6(null as never));
  const w = new BufferWriter(4);
  writeIpv6(w, 'ff02::1:2');
  t.equal(w.toBuffer().toString('hex'), 'ff020000000000000000000000010002');
  t.throws(() => writeIpv6(w, 'ff02:::1'), OpenFlowError);
  t.equal(w.pos, 16);
  const out = Buffer.alloc(18, 0xee);
  t.ok(parseIpv6Into('::', out, 1));
  t.equal(out.toString('hex'), 'ee' + '00'.repeat(16) + 'ee', 'writes exactly 16 bytes');
  t.end();
});

t.test('IPv6 random addresses against the URL serializer', (t) => {
  const rnd = prng(6);
  let checked = 0;
  for (let i = 0; i < 5000; i++) {
    const b = Buffer.alloc(16);
    // Mostly zero groups, so that runs of every length and position appear.
    for (let g = 0; g < 8; g++) if (rnd() < 0.4) b.writeUInt16BE(Math.floor(rnd() * (rnd() < 0.5 ? 16 : 65536)), 2 * g);
    const s = formatIpv6(b, 0);
    if (!parseIpv6(s).equals(b)) t.fail(`${b.toString('hex')}: ${s} does not parse back`);
    const full = Array.from({ length: 8 }, (_, g) => b.readUInt16BE(2 * g).toString(16)).join(':');
    if (!parseIpv6(full).equals(b)) t.fail(`${full} does not parse`);
    const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    if (!mapped) {
      const url = new URL(`http://[${full}]/`).hostname.slice(1, -1);
      if (url !== s) t.fail(`${full}: ours ${s}, URL ${url}`);
      checked++;
    }
  }
  t.ok(checked > 4000, `${checked} addresses compared`);
  t.end();
});

t.test('IPv6 random text against net.isIPv6', (t) => {
  const rnd = prng(66);
  const pick = <T>(xs: ArrayLike<T>): T => xs[Math.floor(rnd() * xs.length)]!;
  let valid = 0;
  for (let i = 0; i < 20000; i++) {
    const groups: string[] = [];
    const n = Math.floor(rnd() * 10);
    for (let g = 0; g < n; g++) {
      const digits = Math.floor(rnd() * 6);
      groups.push(Array.from({ length: digits }, () => pick('0123456789abcdefABCDEF')).join(''));
    }
    let s = groups.join(':');
    if (rnd() < 0.5) {
      const cut = Math.floor(rnd() * (groups.length + 1));
      s = groups.slice(0, cut).join(':') + '::' + groups.slice(cut).join(':');
    }
    if (rnd() < 0.2) s += (s === '' || s.endsWith(':') ? '' : ':') + pick(['1.2.3.4', '255.0.0.1', '1.2.3', '01.2.3.4', '256.1.1.1']);
    const ours = isIpv6(s);
    if (ours !== net.isIPv6(s)) t.fail(`${JSON.stringify(s)}: ours ${ours}, net ${net.isIPv6(s)}`);
    if (ours) {
      valid++;
      const canonical = formatIpv6(parseIpv6(s), 0);
      if (!parseIpv6(canonical).equals(parseIpv6(s))) t.fail(`${s}: canonical ${canonical} differs`);
    }
  }
  t.ok(valid > 1000, `${valid} valid addresses among the random texts`);
  t.end();
});
