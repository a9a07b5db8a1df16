import t, { type Test } from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  JsonSyntaxError, parseJson, parseJsonSequence, stringifyJson, type JsonValue,
} from '../../src/json/index.js';
import {
  MessageJsonError, messageFromJSON, messageToJSON, messageTypeNames, multipartKinds, parseMessage, stringifyMessage,
} from '../../src/openflow/json.js';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { OXM_FIELDS } from '../../src/openflow/oxm-fields.js';
import type { Message } from '../../src/openflow/types/index.js';
import { repoRoot, ryuVectorsDir } from '../util/paths.js';
import { randomInt, seededRandom } from '../util/random.js';

/** Asserts that `fn` throws MessageJsonError at `path` (and with a reason matching `reason`). */
function throwsAt(t: Test, fn: () => unknown, path: string, reason?: RegExp): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof MessageJsonError)) {
      t.fail(`${path}: expected MessageJsonError, got ${String(err)}`);
      return;
    }
    t.equal(err.path, path, `error at ${path}`);
    if (reason) t.match(err.reason, reason, `${path}: ${err.reason}`);
    return;
  }
  t.fail(`${path}: nothing thrown`);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// ---------------------------------------------------------------------------------------------
// lossless-json

t.test('parseJson keeps integers above 2^53 exact', async (t) => {
  t.equal(parseJson('9007199254740991'), 9007199254740991, '2^53-1 stays a number');
  t.equal(parseJson('9007199254740992'), 9007199254740992n, '2^53 becomes a bigint');
  t.equal(parseJson('18446744073709551615'), 18446744073709551615n, '2^64-1 exact');
  t.equal(parseJson('-9007199254740993'), -9007199254740993n, 'negative beyond the safe range');
  t.equal(parseJson('123456789012345678901234567890'), 123456789012345678901234567890n, 'any size');
  t.equal(parseJson('-0'), -0, '-0 is a number');
  t.equal(parseJson('1.5'), 1.5);
  t.equal(parseJson('18446744073709551615.0'), 18446744073709551615.0, 'a fraction makes it a double');
  t.equal(parseJson('1e21'), 1e21, 'an exponent makes it a double');
  t.equal(parseJson('0000000000000001'.replace(/^0+/, '')), 1);
  t.strictSame(parseJson('{"cookie": 12297829382473034410, "n": [1, 2e3]}'), { cookie: 12297829382473034410n, n: [1, 2000] });
});

t.test('parseJson agrees with JSON.parse on ordinary JSON', async (t) => {
  const texts = [
    'null', 'true', 'false', '0', '-12', '3.25e-2', '""', '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"',
    '"\\u00e9\\u4e2d\\ud83d\\ude00"', '"plain é 中 😀"', '[]', '{}', ' [ 1 , [ 2 , { } ] ] ',
    '{"a":{"b":[true,null,{"c":"d"}]},"e":-0.5}', '\n\t{"x" :\r\n 1}\n',
  ];
  for (const s of texts) t.strictSame(parseJson(s), JSON.parse(s), JSON.stringify(s));
});

t.test('parseJson errors name line and column', async (t) => {
  const cases: [string, number, number, RegExp][] = [
    ['', 1, 1, /expected a JSON value, found end of input/],
    ['{"a":1,}', 1, 8, /expected a string key/],
    ['{"a" 1}', 1, 6, /expected ':' after key "a"/],
    ['[1 2]', 1, 4, /expected ',' or ']'/],
    ['{\n  "a": 1,\n  "b": tru\n}', 3, 8, /expected a JSON value/],
    ['"abc', 1, 1, /unterminated string/],
    ['"a\nb"', 1, 3, /control character U\+000a/],
    ['"\\x"', 1, 2, /bad escape '\\x'/],
    ['"\\u12g4"', 1, 2, /bad \\u escape/],
    ['0123', 1, 1, /leading zeros/],
    ['-', 1, 2, /expected a digit/],
    ['1.', 1, 3, /expected a digit after '.'/],
    ['1e+', 1, 4, /expected a digit in the exponent/],
    ['{"a":1} x', 1, 9, /unexpected 'x' after the JSON value/],
    ['{"a":1,"a":2}', 1, 8, /duplicate key "a"/],
    ['NaN', 1, 1, /expected a JSON value, found 'N'/],
  ];
  for (const [text, line, column, reason] of cases) {
    try {
      parseJson(text);
      t.fail(`${JSON.stringify(text)} parsed`);
    } catch (err) {
      t.ok(err instanceof JsonSyntaxError, `${JSON.stringify(text)}: JsonSyntaxError`);
      const e = err as JsonSyntaxError;
      t.equal(`${e.line}:${e.column}`, `${line}:${column}`, `${JSON.stringify(text)}: at ${line}:${column}`);
      t.match(e.reason, reason);
      t.match(e.message, new RegExp(`^JSON syntax error at line ${line}:${column}: `));
    }
  }
  t.throws(() => parseJson('['.repeat(600) + ']'.repeat(600)), /nesting deeper than 512/, 'deep nesting refused, no stack overflow');
  t.equal((parseJson('['.repeat(500) + ']'.repeat(500)) as unknown[]).length, 1, '500 levels are fine');
});

t.test('parseJson makes "__proto__" an own key, not a prototype', async (t) => {
  const v = parseJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(v), Object.prototype);
  t.strictSame(Object.keys(v), ['__proto__']);
  t.equal(({} as Record<string, unknown>).polluted, undefined);
});

t.test('stringifyJson writes bigint digits and refuses what JSON cannot hold', async (t) => {
  t.equal(stringifyJson({ a: 18446744073709551615n, b: [1, -2n, 'x'], c: null }), '{"a":18446744073709551615,"b":[1,-2,"x"],"c":null}');
  t.equal(stringifyJson({ a: [1, { b: 2n }] }, 2), '{\n  "a": [\n    1,\n    {\n      "b": 2\n    }\n  ]\n}');
  t.equal(stringifyJson({ a: [1, { b: 2 }] }, 2), JSON.stringify({ a: [1, { b: 2 }] }, null, 2), 'same layout as JSON.stringify');
  t.equal(stringifyJson('é\u0001"'), JSON.stringify('é\u0001"'));
  t.throws(() => stringifyJson({ a: [1, undefined] } as never), /\$\.a\[1\]: undefined cannot be written/);
  t.throws(() => stringifyJson({ a: NaN }), /\$\.a: NaN/);
  t.throws(() => stringifyJson({ d: Buffer.from('x') } as never), /\$\.d: Buffer is not a plain JSON object/);
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  t.throws(() => stringifyJson(loop as never), /circular/);
  for (const v of [0, 9007199254740993n, -18446744073709551616n, { x: [123456789012345678901234567890n] }] as JsonValue[]) {
    t.strictSame(parseJson(stringifyJson(v)), v, `round trip ${stringifyJson(v)}`);
  }
});

t.test('parseJsonSequence reads JSON Lines and pretty-printed values', async (t) => {
  const text = '{"a":1}\n\n  [2,\n 3]\n"x" 4 5\n{"b":\n18446744073709551615}\n';
  const items = [...parseJsonSequence(text)];
  t.strictSame(items.map((i) => i.value), [{ a: 1 }, [2, 3], 'x', 4, 5, { b: 18446744073709551615n }]);
  t.strictSame(items.map((i) => [i.line, i.column]), [[1, 1], [3, 3], [5, 1], [5, 5], [5, 7], [6, 1]]);
  t.strictSame([...parseJsonSequence('  \n ')], [], 'blank text: no values');
  // Values before an error are delivered first.
  const got: JsonValue[] = [];
  try {
    for (const item of parseJsonSequence('1\n{"ok":true}\n{"bad" 1}\n')) got.push(item.value);
    t.fail('no error');
  } catch (err) {
    t.ok(err instanceof JsonSyntaxError);
    t.equal((err as JsonSyntaxError).line, 3);
  }
  t.strictSame(got, [1, { ok: true }]);
  t.throws(() => [...parseJsonSequence('true1')], /expected whitespace or a newline after the JSON value/);
  t.throws(() => [...parseJsonSequence('1-2')], /expected whitespace/);
});

// ---------------------------------------------------------------------------------------------
// The documented examples (src/openflow/JSON.md) are the canonical form of real messages.

const jsonMd = readFileSync(join(repoRoot(), 'src', 'openflow', 'JSON.md'), 'utf8');
const examples = [...jsonMd.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]!);

t.test('every JSON example in JSON.md is exactly what decode prints for its bytes', async (t) => {
  t.ok(examples.length >= 60, `${examples.length} examples`);
  for (const text of examples) {
    const label = text.replace(/\s+/g, ' ').slice(0, 70);
    let msg: Message;
    try {
      msg = parseMessage(text);
    } catch (err) {
      t.fail(`${label}: ${String(err)}`);
      continue;
    }
    const bytes = encodeMessage(msg);
    const decoded = decodeMessage(bytes);
    t.strictSame(messageToJSON(decoded), parseJson(text), `${label}: canonical`);
    t.strictSame(decoded, msg, `${label}: decode(encode(m)) = m`);
  }
});

t.test('JSON.md documents every message type, multipart kind and OXM field', async (t) => {
  const msgs = examples.map((e) => parseMessage(e));
  const types = new Set(msgs.map((m) => m.type));
  for (const name of messageTypeNames) t.ok(types.has(name), `example of ${name}`);
  for (const dir of ['MULTIPART_REQUEST', 'MULTIPART_REPLY'] as const) {
    const kinds = new Set(msgs.flatMap((m) => (m.type === dir ? [m.body.kind] : [])));
    for (const kind of multipartKinds) t.ok(kinds.has(kind), `example of ${dir} ${kind}`);
  }
  for (const f of OXM_FIELDS) t.match(jsonMd, `\`${f.name}\``, `OXM field ${f.name} listed`);
});

// ---------------------------------------------------------------------------------------------
// Round trips of forms the examples do not show

const flowMod = (over: Partial<Extract<Message, { type: 'FLOW_MOD' }>> = {}): Message => ({
  type: 'FLOW_MOD', xid: 1, cookie: 0n, cookieMask: 0n, tableId: 0, command: 'ADD', idleTimeout: 0, hardTimeout: 0,
  priority: 0, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: { fields: [] },
  instructions: [], ...over,
});

const samples: [string, Message][] = [
  ['masked OXM fields of every value form', flowMod({
    match: { fields: [
      { field: 'in_port', value: 0xfffffffe },
      { field: 'metadata', value: 0xfedcba9876543210n, mask: 0xffffffff00000000n },
      { field: 'eth_dst', value: '01:00:5e:00:00:00', mask: 'ff:ff:ff:80:00:00' },
      { field: 'eth_type', value: 0x86dd },
      { field: 'vlan_vid', value: 0x1000, mask: 0x1000 },
      { field: 'vlan_pcp', value: 7 },
      { field: 'ipv6_src', value: '2001:db8::', mask: 'ffff:ffff::' },
      { field: 'ipv6_flabel', value: 0xfffff, mask: 0xf0000 },
      { field: 'ip_proto', value: 58 },
      { field: 'icmpv6_type', value: 135 },
      { field: 'ipv6_nd_target', value: '::ffff:10.0.0.1' },
      { field: 'pbb_isid', value: 0xabcdef, mask: 0xff0000 },
      { field: 'tunnel_id', value: 0xffffffffffffffffn },
      { field: 'opaque', oxmClass: 0xffff, oxmField: 0, hasMask: false, data: hex('4f4e4600 0a00 01') },
    ] },
    instructions: [
      { type: 'METER', meterId: 7 },
      { type: 'WRITE_ACTIONS', actions: [
        { type: 'SET_FIELD', field: { field: 'ipv4_src', value: '192.168.0.1' } },
        { type: 'SET_FIELD', field: { field: 'metadata', value: 9007199254740993n } },
        { type: 'EXPERIMENTER', experimenter: 0x2320, data: hex('0011 0000 0000 0000') },
      ] },
      { type: 'CLEAR_ACTIONS' },
      { type: 'EXPERIMENTER', experimenter: 0xff000001, data: hex('00000000 00000001') },
    ],
  })],
  ['HELLO with padded bitmap and an unknown element', {
    type: 'HELLO', xid: 3, version: 4,
    elements: [{ type: 'VERSIONBITMAP', versions: [4], words: 2 }, { type: 'UNKNOWN', elemType: 9, data: hex('abcd') }],
  }],
  ['HELLO of an OpenFlow 1.0 peer with a body', { type: 'HELLO', xid: 3, version: 1, elements: [], data: hex('0102') }],
  ['ERROR of type 0xffff from a 1.0 peer (standard layout)', {
    type: 'ERROR', xid: 0, version: 1, errorType: 0xffff, code: 3, data: hex('01'),
  }],
  ['numeric reasons for codes 1.3 does not name', {
    type: 'FLOW_REMOVED', xid: 0, cookie: 0n, priority: 0, reason: 5, tableId: 0, durationSec: 0, durationNsec: 0,
    idleTimeout: 0, hardTimeout: 0, packetCount: 18446744073709551615n, byteCount: 0n, match: { fields: [] },
  }],
  ['table features with every property form', {
    type: 'MULTIPART_REPLY', xid: 2, flags: 1, body: { kind: 'TABLE_FEATURES', tables: [{
      tableId: 1, name: 'x', metadataMatch: 0n, metadataWrite: 18446744073709551615n, config: 3, maxEntries: 0xffffffff,
      properties: [
        { type: 'INSTRUCTIONS_MISS', instructionIds: [{ type: 'EXPERIMENTER', experimenter: 0x2320 }, { type: 'METER' }] },
        { type: 'NEXT_TABLES_MISS', tableIds: [] },
        { type: 'WRITE_ACTIONS_MISS', actionIds: [{ type: 'EXPERIMENTER', experimenter: 0x2320, data: hex('0001') }] },
        { type: 'APPLY_SETFIELD', oxmIds: [
          { field: 'tunnel_id', hasMask: true, length: 16 },
          { field: 'opaque', oxmClass: 1, oxmField: 3, hasMask: false, length: 4 },
          { field: 'opaque', oxmClass: 0xffff, oxmField: 1, hasMask: false, length: 8, experimenter: 0x4f4e4600 },
        ] },
        { type: 'EXPERIMENTER_MISS', experimenter: 1, expType: 2, data: hex('00000003') },
        { type: 'UNKNOWN', code: 9, data: hex('deadbeef') },
      ],
    }] },
  }],
  ['queue and meter experimenter parts', {
    type: 'QUEUE_GET_CONFIG_REPLY', xid: 1, port: 1,
    queues: [{ queueId: 1, port: 1, properties: [{ property: 'EXPERIMENTER', experimenter: 7, data: hex('0102030405060708') }] }],
  }],
  ['meter band experimenter', {
    type: 'METER_MOD', xid: 1, command: 'MODIFY', flags: 1, meterId: 0xffff0000,
    bands: [{ type: 'EXPERIMENTER', rate: 1, burstSize: 2, experimenter: 3, data: hex('0000000000000004') }],
  }],
];

t.test('forms not in the examples survive JSON text and the wire', async (t) => {
  for (const [label, msg] of samples) {
    const text = stringifyMessage(msg);
    t.notMatch(text, /\n/, `${label}: one line`);
    t.strictSame(parseMessage(text), msg, `${label}: parseMessage(stringifyMessage(m)) = m`);
    let decoded: Message | undefined;
    try {
      decoded = decodeMessage(encodeMessage(msg));
    } catch (err) {
      t.fail(`${label}: codec: ${String(err)}`);
    }
    if (decoded) t.strictSame(messageToJSON(decoded), messageToJSON(msg), `${label}: the wire gives the same JSON`);
  }
});

t.test('whatever the decoder accepts survives the JSON form (seeded mutations of the Ryu vectors)', async (t) => {
  const dir = join(ryuVectorsDir(), 'packet');
  const vectors = readdirSync(dir).filter((f) => f.endsWith('.packet')).map((f) => readFileSync(join(dir, f)));
  const rand = seededRandom(0x15011);
  let accepted = 0;
  let failures = 0;
  for (let i = 0; i < 3000 && failures < 5; i++) {
    const bytes = Buffer.from(vectors[randomInt(rand, 0, vectors.length - 1)]!);
    // Flip 1-3 body bytes: lengths, codes, OXM headers and values all get hit.
    for (let k = randomInt(rand, 1, 3); k > 0; k--) if (bytes.length > 8) bytes[randomInt(rand, 8, bytes.length - 1)] = randomInt(rand, 0, 255);
    let msg: Message;
    try {
      msg = decodeMessage(bytes);
    } catch {
      continue; // rejected input is the decoder's business
    }
    accepted++;
    try {
      const back = parseMessage(stringifyMessage(msg));
      if (!encodeMessage(back).equals(encodeMessage(msg))) throw new Error('re-encodes differently');
      if (!isDeepStrictEqual(back, msg)) throw new Error(`read back as ${stringifyMessage(back)}`);
    } catch (err) {
      failures++;
      t.fail(`mutant ${i} (${bytes.toString('hex')}): ${String(err)}`);
    }
  }
  t.ok(accepted > 1000, `${accepted} decodable mutants checked`);
  t.equal(failures, 0);
});

t.test('the JSON text form, exactly', async (t) => {
  const msg = flowMod({
    xid: 0xffffffff, cookie: 0x8000000000000001n, cookieMask: 9007199254740991n, command: 'DELETE_STRICT', priority: 65535,
    match: { fields: [{ field: 'eth_src', value: '02:42:ac:11:00:02' }, { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.0.0.0' }] },
    instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 0xfffffffd, maxLen: 0xffff }] }],
  });
  t.equal(
    stringifyMessage(msg),
    '{"type":"FLOW_MOD","xid":4294967295,"cookie":9223372036854775809,"cookieMask":9007199254740991,"tableId":0,' +
      '"command":"DELETE_STRICT","idleTimeout":0,"hardTimeout":0,"priority":65535,"bufferId":4294967295,' +
      '"outPort":4294967295,"outGroup":4294967295,"flags":0,"match":{"fields":[{"field":"eth_src","value":"02:42:ac:11:00:02"},' +
      '{"field":"ipv4_dst","value":"10.0.0.0","mask":"255.0.0.0"}]},"instructions":[{"type":"APPLY_ACTIONS",' +
      '"actions":[{"type":"OUTPUT","port":4294967293,"maxLen":65535}]}]}',
  );
  const echo: Message = { type: 'ECHO_REQUEST', xid: 1, data: Buffer.from([0xde, 0xad, 0xbe, 0xef]) };
  t.equal(stringifyMessage(echo), '{"type":"ECHO_REQUEST","xid":1,"data":"deadbeef"}', 'payloads are lowercase hex');
  const view = Buffer.from('00112233445566', 'hex').subarray(2, 4);
  t.equal(stringifyMessage({ ...echo, data: view }), '{"type":"ECHO_REQUEST","xid":1,"data":"2233"}', 'a view writes only its bytes');
  t.equal(stringifyMessage(echo, 2), '{\n  "type": "ECHO_REQUEST",\n  "xid": 1,\n  "data": "deadbeef"\n}', 'indent');
});

t.test('64-bit fields: numbers up to 2^53, bigints beyond, never rounded', async (t) => {
  const role = (generationId: bigint): Message => ({ type: 'ROLE_REQUEST', xid: 0, role: 'EQUAL', generationId });
  t.equal((messageToJSON(role(9007199254740991n)) as { generationId: unknown }).generationId, 9007199254740991);
  t.equal((messageToJSON(role(9007199254740992n)) as { generationId: unknown }).generationId, 9007199254740992n);
  t.match(stringifyMessage(role(18446744073709551615n)), /"generationId":18446744073709551615}/);
  const read = (g: string) => parseMessage(`{"type":"ROLE_REQUEST","xid":0,"role":"EQUAL","generationId":${g}}`);
  t.strictSame(read('0'), role(0n), 'a small JSON integer reads as bigint');
  t.strictSame(read('18446744073709551615'), role(18446744073709551615n));
  t.strictSame(read('9007199254740993'), role(9007199254740993n), 'odd value above 2^53 kept exactly');
  throwsAt(t, () => read('18446744073709551616'), '$.generationId', /expected an integer 0\.\.18446744073709551615/);
  throwsAt(t, () => read('-1'), '$.generationId');
  throwsAt(t, () => read('1.5'), '$.generationId');
  throwsAt(t, () => read('"12"'), '$.generationId', /got string "12"/);
  // What JSON.parse makes of a large integer: refused, since it may have been rounded.
  const rounded = JSON.parse('{"type":"ROLE_REQUEST","xid":0,"role":"EQUAL","generationId":18446744073709551615}') as unknown;
  throwsAt(t, () => messageFromJSON(rounded), '$.generationId', /above 2\^53 and may have been rounded/);
  // An ordinary JSON.parse value is fine when it holds no large integers.
  t.strictSame(messageFromJSON(JSON.parse('{"type":"ROLE_REQUEST","xid":0,"role":"EQUAL","generationId":12}')), role(12n));
  // A JSON value whose every integer is a bigint (what some lossless parsers produce).
  t.strictSame(messageFromJSON({ type: 'ROLE_REQUEST', xid: 7n, role: 'EQUAL', generationId: 12n }), { ...role(12n), xid: 7 });
  throwsAt(t, () => messageFromJSON({ type: 'ROLE_REQUEST', xid: 4294967296n, role: 'EQUAL', generationId: 0n }), '$.xid', /got integer 4294967296/);
});

t.test('payload hex: either case in, lowercase out, bad hex refused', async (t) => {
  const m = parseMessage('{"type":"ECHO_REPLY","xid":1,"data":"DEADbeef"}');
  t.strictSame(m, { type: 'ECHO_REPLY', xid: 1, data: hex('deadbeef') });
  t.ok(Buffer.isBuffer((m as { data: unknown }).data), 'data is a Buffer');
  throwsAt(t, () => parseMessage('{"type":"ECHO_REPLY","xid":1,"data":"abc"}'), '$.data', /odd number of digits \(3\)/);
  throwsAt(t, () => parseMessage('{"type":"ECHO_REPLY","xid":1,"data":"ab cd"}'), '$.data', /" " at character 2/);
  throwsAt(t, () => parseMessage('{"type":"ECHO_REPLY","xid":1,"data":[1,2]}'), '$.data', /expected a hex string/);
});

t.test('invalid messages are refused with the path of the problem', async (t) => {
  const fm = stringifyMessage(flowMod({
    match: { fields: [{ field: 'in_port', value: 1 }] },
    instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'POP_VLAN' }, { type: 'OUTPUT', port: 1, maxLen: 0 }] }],
  }));
  t.ok(parseMessage(fm), 'the unmodified message is valid');
  const cases: [string, string, RegExp][] = [
    ['{}', '$.type', /missing field \(the message type: one of "HELLO", "ERROR"/],
    ['[]', '$', /expected an object, got an array/],
    ['{"type":"FLOW_MOX","xid":1}', '$.type', /unknown message type "FLOW_MOX"/],
    ['{"type":"BARRIER_REQUEST"}', '$.xid', /missing field/],
    ['{"type":"BARRIER_REQUEST","xid":4294967296}', '$.xid', /0\.\.4294967295/],
    ['{"type":"BARRIER_REQUEST","xid":1,"extra":0}', '$.extra', /unknown field \(expected "type", "xid"\)/],
    [fm.replace('"priority":0', '"priority":70000'), '$.priority', /expected an integer 0\.\.65535, got number 70000/],
    [fm.replace('"idleTimeout"', '"idle_timeout"'), '$.idle_timeout', /unknown field/],
    [fm.replace('"command":"ADD"', '"command":0'), '$.command', /expected one of "ADD", "MODIFY"/],
    [fm.replace('"port":1', '"port":-1'), '$.instructions[0].actions[1].port', /got number -1/],
    [fm.replace('"type":"POP_VLAN"', '"type":"POP_VLAM"'), '$.instructions[0].actions[0].type', /unknown action type "POP_VLAM"/],
    [fm.replace('"type":"POP_VLAN"', '"type":"POP_VLAN","ethertype":1'), '$.instructions[0].actions[0].ethertype', /unknown field/],
    [fm.replace('"type":"APPLY_ACTIONS"', '"type":"APPLY"'), '$.instructions[0].type', /unknown instruction type "APPLY"/],
    [fm.replace('"field":"in_port"', '"field":"ip_dst"'), '$.match.fields[0].field', /unknown OXM field "ip_dst"/],
    [fm.replace('"value":1', '"value":"1"'), '$.match.fields[0].value', /expected an integer 0\.\.4294967295/],
    [fm.replace('{"field":"in_port","value":1}', '{"field":"eth_dst","value":"10.0.0.1"}'), '$.match.fields[0].value', /MAC address/],
    [fm.replace('{"field":"in_port","value":1}', '{"field":"ipv4_dst","value":"10.0.0.01"}'), '$.match.fields[0].value', /IPv4 address/],
    [fm.replace('{"field":"in_port","value":1}', '{"field":"ipv6_dst","value":"2001:db8::1::2"}'), '$.match.fields[0].value', /IPv6 address/],
    [fm.replace('{"field":"in_port","value":1}', '{"field":"metadata","value":1,"mask":"ff"}'), '$.match.fields[0].mask', /got string "ff"/],
    [fm.replace('{"field":"in_port","value":1}', '{"field":"opaque","oxmClass":1,"oxmField":128,"hasMask":false,"data":""}'),
      '$.match.fields[0].oxmField', /0\.\.127/],
    [fm.replace('"match":{"fields":', '"match":{"oxm_fields":'), '$.match.oxm_fields', /unknown field/],
    ['{"type":"MULTIPART_REQUEST","xid":1,"flags":0,"body":{"kind":"PORT"}}', '$.body.kind', /unknown multipart request kind "PORT"/],
    ['{"type":"MULTIPART_REQUEST","xid":1,"flags":0,"body":{"kind":"PORT_STATS"}}', '$.body.portNo', /missing field/],
    ['{"type":"ROLE_REQUEST","xid":1,"role":"master","generationId":0}', '$.role', /expected one of "NOCHANGE"/],
    ['{"type":"SET_ASYNC","xid":1,"packetInMask":[1],"portStatusMask":[0,0],"flowRemovedMask":[0,0]}', '$.packetInMask', /2 elements, got 1/],
    ['{"type":"ERROR","xid":1,"version":4,"errorType":65535,"code":1,"data":""}', '$.code', /unknown field/],
    ['{"type":"PORT_MOD","xid":1,"portNo":1,"hwAddr":"02:42:ac:11:00:0","config":0,"mask":0,"advertise":0}', '$.hwAddr', /MAC address/],
    ['{"type":"MULTIPART_REPLY","xid":1,"flags":0,"body":{"kind":"DESC","mfrDesc":"' + 'x'.repeat(257) +
      '","hwDesc":"","swDesc":"","serialNum":"","dpDesc":""}}', '$.body.mfrDesc', /257 characters does not fit the 256-byte field/],
    ['{"type":"PORT_STATUS","xid":1,"reason":"UP","desc":{}}', '$.reason', /one of "ADD", "DELETE", "MODIFY" or an integer 0\.\.255/],
    ['{"type":"HELLO","xid":1,"version":4,"elements":[{"type":"VERSIONBITMAP","versions":[4, 256]}]}',
      '$.elements[0].versions[1]', /0\.\.255/],
  ];
  for (const [text, path, reason] of cases) {
    try {
      parseMessage(text);
      t.fail(`accepted: ${text.slice(0, 80)}`);
    } catch (err) {
      if (!(err instanceof MessageJsonError)) {
        t.fail(`${path}: ${String(err)}`);
        continue;
      }
      t.equal(err.path, path, `path ${path}`);
      t.match(err.reason, reason, `${path}: ${err.reason.slice(0, 100)}`);
      t.equal(err.message, `${err.path}: ${err.reason}`);
    }
  }
  t.throws(() => parseMessage('{"type": "ECHO_REQUEST",\n "xid": 1,,}'), JsonSyntaxError, 'bad JSON text: a syntax error');
});

t.test('messageToJSON refuses in-memory values of the wrong kind, naming the field', async (t) => {
  const bad = (m: unknown) => () => messageToJSON(m as Message);
  throwsAt(t, bad({ type: 'ROLE_REQUEST', xid: 0, role: 'EQUAL', generationId: 5 }), '$.generationId', /expected a bigint/);
  throwsAt(t, bad({ type: 'ECHO_REQUEST', xid: 0, data: 'cafe' }), '$.data', /expected a Buffer/);
  throwsAt(t, bad({ type: 'ECHO_REQUEST', data: Buffer.alloc(0) }), '$.xid', /missing/);
  throwsAt(t, bad({ type: 'NOPE', xid: 0 }), '$.type');
  throwsAt(t, bad({ ...flowMod(), match: { fields: [{ field: 'metadata', value: 1 }] } }), '$.match.fields[0].value');
});
