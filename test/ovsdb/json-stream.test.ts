import t from 'tap';
import { JsonStreamParser } from '../../src/ovsdb/json-stream.js';
import { parseJsonLossless, stringifyJson, type Json } from '../../src/ovsdb/json.js';
import { OvsdbProtocolError } from '../../src/ovsdb/errors.js';

// Texts chosen to stress the scanner: braces and brackets inside strings, escaped quotes
// and backslashes right before a closing quote, multi-byte UTF-8, big and small numbers,
// nested empty containers, whitespace between texts.
const TEXTS = [
  '{"id":1,"result":{"locked":true},"error":null}',
  '{"method":"update","params":["m1",{"Bridge":{"a":{"new":{"name":"br-{[\\"x\\"]}"}}}}],"id":null}',
  '[1,-2,3.5e10,-0.25,true,false,null,"\\\\","\\"",{},[],[[{}]]]',
  '{"s":"héllo wörld ✓ 𝄞","k":"}]","e":"\\u00e9\\ud834\\udd1e"}',
  '{"big":9223372036854775807,"neg":-9223372036854775808,"safe":9007199254740991,"over":9007199254740993}',
  '{"float":12345678901234567890.5,"exp":1234567890123456789e2}',
];

function expected(): Json[] {
  return TEXTS.map((s) => parseJsonLossless(s));
}

t.test('every split position gives the same values', async (t) => {
  const all = Buffer.from(TEXTS.join(' \n\t'), 'utf8');
  const want = expected();
  for (let cut = 0; cut <= all.length; cut++) {
    const p = new JsonStreamParser();
    const got = [...p.push(all.subarray(0, cut)), ...p.push(all.subarray(cut))];
    if (got.length !== want.length) t.fail(`split at ${cut}: ${got.length} values`);
    else t.strictSame(got, want, `split at ${cut}`, { diagnostic: false });
    t.equal(p.buffered, 0);
    t.equal(p.midText, false);
  }
  // Two cuts: exercises a text spanning three chunks.
  for (let a = 0; a < all.length; a += 7) {
    for (let b = a; b <= all.length; b += 11) {
      const p = new JsonStreamParser();
      const got = [...p.push(all.subarray(0, a)), ...p.push(all.subarray(a, b)), ...p.push(all.subarray(b))];
      t.strictSame(got, want, `cuts at ${a}, ${b}`, { diagnostic: false });
    }
  }
});

t.test('one byte at a time and many texts in one chunk', async (t) => {
  const all = Buffer.from(TEXTS.join(''), 'utf8');
  const p = new JsonStreamParser();
  const got: Json[] = [];
  for (let i = 0; i < all.length; i++) got.push(...p.push(all.subarray(i, i + 1)));
  t.strictSame(got, expected());

  const many = Buffer.from(Array.from({ length: 1000 }, (_, i) => `{"id":${i}}`).join(''));
  const values = new JsonStreamParser().push(many);
  t.equal(values.length, 1000);
  t.strictSame(values[999], { id: 999 });
});

t.test('the caller may reuse its chunk buffer', async (t) => {
  const p = new JsonStreamParser();
  const chunk = Buffer.from('{"a":"xyz');
  t.strictSame(p.push(chunk), []);
  chunk.fill(0x20); // the parser must have copied what it kept
  t.strictSame(p.push(Buffer.from('"}')), [{ a: 'xyz' }]);
});

t.test('big integers are exact, other numbers as JSON.parse reads them', async (t) => {
  const [v] = new JsonStreamParser().push(Buffer.from(TEXTS[4]!)) as [Record<string, Json>];
  t.equal(v.big, 9223372036854775807n);
  t.equal(v.neg, -9223372036854775808n);
  t.equal(v.safe, 9007199254740991);
  t.equal(v.over, 9007199254740993n);
  const [f] = new JsonStreamParser().push(Buffer.from(TEXTS[5]!)) as [Record<string, Json>];
  t.equal(f.float, 12345678901234567890.5);
  t.equal(f.exp, 1234567890123456789e2);
  // Split inside the digits of a big number.
  const p = new JsonStreamParser();
  t.strictSame(p.push(Buffer.from('{"n":1234567890')), []);
  t.strictSame(p.push(Buffer.from('1234567890}')), [{ n: 12345678901234567890n }]);
});

t.test('stringify writes bigints exactly and round-trips', async (t) => {
  const v: Json = { a: [1n << 62n, -(1n << 63n), 1.5, 'q"\\', null, true], b: {} };
  const text = stringifyJson(v);
  t.equal(text, '{"a":[4611686018427387904,-9223372036854775808,1.5,"q\\"\\\\",null,true],"b":{}}');
  t.strictSame(new JsonStreamParser().push(Buffer.from(text)), [v]);
  t.throws(() => stringifyJson(NaN), { code: 'OVSDB_ERR_BAD_VALUE' });
  t.throws(() => stringifyJson({ d: new Date() as unknown as Json }), { code: 'OVSDB_ERR_BAD_VALUE' });
});

t.test('oversized text is rejected before buffering more', async (t) => {
  const p = new JsonStreamParser({ maxMessageSize: 64 });
  // Exactly at the limit is fine.
  const exact = `{"s":"${'x'.repeat(64 - 8)}"}`;
  t.equal(Buffer.byteLength(exact), 64);
  t.strictSame(p.push(Buffer.from(exact)), [{ s: 'x'.repeat(56) }]);
  // One byte more, arriving in small pieces: the error comes as soon as byte 65 is seen,
  // with at most 64 bytes ever held.
  const big = Buffer.from(`{"s":"${'x'.repeat(57)}"}`);
  let err: unknown;
  let maxHeld = 0;
  for (let i = 0; i < big.length && !err; i += 10) {
    try {
      p.push(big.subarray(i, i + 10));
      maxHeld = Math.max(maxHeld, p.buffered);
    } catch (e) {
      err = e;
      t.ok(i + 10 > 64, `failed in the chunk holding byte 65 (chunk at ${i})`);
    }
  }
  t.ok(err instanceof OvsdbProtocolError);
  t.equal((err as OvsdbProtocolError).code, 'OVSDB_ERR_MESSAGE_TOO_LARGE');
  t.ok(maxHeld <= 64);
  // The stream stays failed.
  t.throws(() => p.push(Buffer.from('{}')), { code: 'OVSDB_ERR_MESSAGE_TOO_LARGE' });

  // A huge chunk fails without reading past the limit: a proxy records every byte index read.
  const q = new JsonStreamParser({ maxMessageSize: 1024 });
  const huge = Buffer.alloc(8 * 1024 * 1024, 0x20);
  huge[0] = 0x5b; // '[' then spaces, never closed
  let furthest = -1;
  const watched = new Proxy(huge, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && /^\d+$/.test(prop)) furthest = Math.max(furthest, Number(prop));
      const v = Reflect.get(target, prop, receiver === watched ? target : receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  t.throws(() => q.push(watched), { code: 'OVSDB_ERR_MESSAGE_TOO_LARGE' });
  t.ok(furthest >= 0 && furthest < 1024, `read no byte beyond the limit (furthest ${furthest})`);
  t.equal(q.buffered, 0);
});

t.test('invalid JSON is OVSDB_ERR_BAD_JSON', async (t) => {
  const bad = [
    'x{}',
    '"top-level string"',
    '{"a":1,}',
    '{"a" 1}',
    '[1 2]',
    '{"a":tru}',
    '[01]',
    '{"a":"\\q"}',
    '{"a":"\u0001"}',
    '[}',
    '{"n":12345678901234567890,}', // the lossless parser's path
    '{"n":12345678901234567890 "x"}',
  ];
  for (const text of bad) {
    t.throws(() => new JsonStreamParser().push(Buffer.from(text)), { code: 'OVSDB_ERR_BAD_JSON' }, text);
  }
  // Invalid UTF-8.
  t.throws(() => new JsonStreamParser().push(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])), {
    code: 'OVSDB_ERR_BAD_JSON',
  });
  // Nesting limit.
  const deep = '['.repeat(100) + ']'.repeat(100);
  t.throws(() => new JsonStreamParser({ maxDepth: 50 }).push(Buffer.from(deep)), { code: 'OVSDB_ERR_BAD_JSON' });
  t.equal(new JsonStreamParser({ maxDepth: 100 }).push(Buffer.from(deep)).length, 1);
});

t.test('lossless parser agrees with JSON.parse on ordinary texts', async (t) => {
  for (const s of TEXTS.slice(0, 4)) t.strictSame(parseJsonLossless(s), JSON.parse(s), s);
  const proto = parseJsonLossless('{"__proto__":{"polluted":1}}') as Record<string, unknown>;
  t.strictSame(Object.keys(proto), ['__proto__']);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});
