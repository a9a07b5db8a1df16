import t, { type Test } from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  JsonSyntaxError, parseJson, parseJsonDocument, parseJsonSequence, stringifyJson, JsonValueError,
  type JsonErrorCode, type JsonParseOptions, type JsonValue,
} from '../../src/json/index.js';

/** The JsonSyntaxError `fn` throws (fails the test when it throws nothing or something else). */
function syntaxError(t: Test, fn: () => unknown): JsonSyntaxError | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof JsonSyntaxError) return e;
    t.fail(`expected JsonSyntaxError, got ${String(e)}`);
    return undefined;
  }
  t.fail('nothing thrown');
  return undefined;
}

t.test('64-bit integers are exact; other numbers are doubles', async (t) => {
  t.equal(parseJson('18446744073709551615'), 18446744073709551615n);
  t.equal(parseJson('-9223372036854775808'), -9223372036854775808n);
  t.equal(parseJson('9007199254740991'), 9007199254740991, 'largest safe integer stays a number');
  t.equal(parseJson('-9007199254740992'), -9007199254740992n, 'one beyond the safe range is a bigint');
  t.equal(parseJson('1234567890123456'), 1234567890123456, '16 digits within the safe range: number');
  t.equal(parseJson('18446744073709551615', { largeIntegers: 'double' }), 18446744073709552000, "'double' rounds as JSON.parse");
  t.equal(parseJson('1.8446744073709551615e19'), 1.8446744073709551615e19, 'an exponent makes a double');
  t.strictSame(parseJson('{"cookie":12297829382473034410,"xs":[0,-0,7,1.5]}'), { cookie: 12297829382473034410n, xs: [0, -0, 7, 1.5] });
  t.ok(Object.is(parseJson('-0'), -0));
  t.equal(stringifyJson(parseJson('[18446744073709551615,-1,0.5]')), '[18446744073709551615,-1,0.5]', 'round trip');
});

t.test('ordinary texts read as JSON.parse reads them', async (t) => {
  const texts = ['{"a":[1,2,{"b":null}],"c":"\\u00e9\\n\\"","d":true,"e":false,"f":-1.25e-3}', '[]', '{}', '"x"', ' \t\r\n[ 1 ]\n'];
  for (const s of texts) t.strictSame(parseJson(s), JSON.parse(s), s);
});

t.test('duplicate keys: refused, first kept, or last kept; the document lists them', async (t) => {
  const text = '{\n  "a": 1,\n  "b": {"x": 1, "x": 2},\n  "a": 3\n}';
  const e = syntaxError(t, () => parseJson(text));
  t.equal(e?.code, 'JSON_ERR_DUPLICATE_KEY');
  t.equal(`${e?.line}:${e?.column}`, '3:17', 'the first repeated name found');
  t.equal(e?.details.key, 'x');
  t.strictSame(parseJson(text, { duplicateKeys: 'first' }), { a: 1, b: { x: 1 } });
  t.strictSame(parseJson(text, { duplicateKeys: 'last' }), { a: 3, b: { x: 2 } });
  const doc = parseJsonDocument(text, { duplicateKeys: 'first' });
  t.strictSame(doc.duplicates.map((d) => [d.key, d.path, `${d.at.line}:${d.at.column}`, `${d.first.line}:${d.first.column}`]), [
    ['x', ['b'], '3:17', '3:9'],
    ['a', [], '4:3', '2:3'],
  ]);
  t.strictSame(doc.positions.at(['a'])?.key, { offset: 4, line: 2, column: 3 }, "'first': positions of the first definition");
  t.equal(parseJsonDocument(text, { duplicateKeys: 'last' }).positions.at(['a'])?.key?.line, 4, "'last': of the last");
});

t.test('positions of values and member names, by path', async (t) => {
  const text = '{\r\n  "nodes": {\n    "h1": [10, {"ip": "10.0.0.1"}]\r  }\n}';
  const { value, positions } = parseJsonDocument(text);
  t.strictSame(value, { nodes: { h1: [10, { ip: '10.0.0.1' }] } });
  const at = (path: (string | number)[]) => {
    const p = positions.at(path);
    return p && [`${p.value.line}:${p.value.column}`, p.key ? `${p.key.line}:${p.key.column}` : null];
  };
  t.strictSame(at([]), ['1:1', null]);
  t.strictSame(at(['nodes']), ['2:12', '2:3']);
  t.strictSame(at(['nodes', 'h1']), ['3:11', '3:5']);
  t.strictSame(at(['nodes', 'h1', 1]), ['3:16', null]);
  t.strictSame(at(['nodes', 'h1', 1, 'ip']), ['3:23', '3:17']);
  t.equal(positions.at(['nodes', 'h2']), undefined, 'no such value');
  t.equal(positions.at(['nodes', 'h1', '1']), undefined, 'an array is indexed by numbers only');
  const near = positions.find(['nodes', 'h1', 5, 'x']);
  t.equal(near.depth, 2, 'nearest ancestor found: nodes.h1');
  t.equal(near.key?.line, 3);
  const closing = text.indexOf('\r  }') + 3;
  t.strictSame(positions.locate(closing), { offset: closing, line: 4, column: 3 }, 'a lone \\r ends a line');
});

t.test('nesting is bounded, with no stack overflow however deep the input', async (t) => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  t.equal((parseJson(deep(512)) as unknown[]).length, 1, '512 levels by default');
  const e = syntaxError(t, () => parseJson(deep(513)));
  t.equal(e?.code, 'JSON_ERR_TOO_DEEP');
  t.equal(e?.column, 513, 'at the bracket that opens level 513');
  t.equal(e?.details.limit, 512);
  t.equal((parseJson(deep(200_000), { maxDepth: 200_000 }) as unknown[]).length, 1, '200000 levels when allowed: no recursion');
  t.equal((parseJson('{"a":' + deep(3) + '}', { maxDepth: 4 }) as { a: unknown[] }).a.length, 1);
  t.equal(syntaxError(t, () => parseJson('{"a":' + deep(4) + '}', { maxDepth: 4 }))?.column, 9);
  t.throws(() => parseJson('1', { maxDepth: 0 }), RangeError);
});

t.test('every kind of malformed text: code, line:column and reason', async (t) => {
  const cases: [string, JsonErrorCode, string, RegExp][] = [
    ['', 'JSON_ERR_EMPTY', '1:1', /expected a JSON value, found end of input/],
    [' \n ', 'JSON_ERR_EMPTY', '2:2', /found end of input/],
    ['[', 'JSON_ERR_EXPECTED_VALUE', '1:2', /found end of input/],
    ['{"a": tru}', 'JSON_ERR_EXPECTED_VALUE', '1:7', /expected a JSON value, found 't'/],
    ["{'a': 1}", 'JSON_ERR_EXPECTED_KEY', '1:2', /expected a string key, found '''/],
    ['[NaN]', 'JSON_ERR_EXPECTED_VALUE', '1:2', /found 'N'/],
    ['[1,\n]', 'JSON_ERR_TRAILING_COMMA', '2:1', /found '\]'/],
    ['{"a":1,\n}', 'JSON_ERR_TRAILING_COMMA', '2:1', /expected a string key, found '\}'/],
    ['{"a" 1}', 'JSON_ERR_EXPECTED_COLON', '1:6', /expected ':' after key "a", found '1'/],
    ['{"a":1 "b":2}', 'JSON_ERR_EXPECTED_COMMA', '1:8', /expected ',' or '\}' in object, found '"'/],
    ['[1 2]', 'JSON_ERR_EXPECTED_COMMA', '1:4', /expected ',' or '\]' in array, found '2'/],
    ['[1', 'JSON_ERR_EXPECTED_COMMA', '1:3', /found end of input/],
    ['["abc', 'JSON_ERR_UNTERMINATED_STRING', '1:2', /unterminated string/],
    ['["ab\\', 'JSON_ERR_UNTERMINATED_STRING', '1:2', /unterminated string/],
    ['"a\tb"', 'JSON_ERR_CONTROL_CHARACTER', '1:3', /control character U\+0009 in string/],
    ['"a\\qb"', 'JSON_ERR_BAD_ESCAPE', '1:3', /bad escape '\\q'/],
    ['"\\u12x4"', 'JSON_ERR_BAD_ESCAPE', '1:2', /bad \\u escape/],
    ['[01]', 'JSON_ERR_BAD_NUMBER', '1:2', /leading zeros/],
    ['[-]', 'JSON_ERR_BAD_NUMBER', '1:3', /expected a digit, found '\]'/],
    ['[1.]', 'JSON_ERR_BAD_NUMBER', '1:4', /expected a digit after '\.'/],
    ['[1e+]', 'JSON_ERR_BAD_NUMBER', '1:5', /expected a digit in the exponent/],
    ['{}\n\n  x', 'JSON_ERR_TRAILING_DATA', '3:3', /unexpected 'x' after the JSON value/],
    ['\ufeff{}', 'JSON_ERR_EXPECTED_VALUE', '1:1', /found '\ufeff'/],
    ['{"a":1,"a":2}', 'JSON_ERR_DUPLICATE_KEY', '1:8', /duplicate key "a"/],
    ['[\u0001]', 'JSON_ERR_EXPECTED_VALUE', '1:2', /found character U\+0001/],
  ];
  for (const [text, code, at, reason] of cases) {
    const e = syntaxError(t, () => parseJson(text));
    if (!e) continue;
    t.equal(e.code, code, `${JSON.stringify(text)}: ${code}`);
    t.equal(`${e.line}:${e.column}`, at, `${JSON.stringify(text)}: at ${at}`);
    t.match(e.reason, reason, `${JSON.stringify(text)}: ${e.reason}`);
    t.equal(e.message, `JSON syntax error at line ${e.line}:${e.column}: ${e.reason}`);
  }
  t.equal(syntaxError(t, () => parseJson('{"n": -012}'))?.details.tokenStart, 6, 'a number error names where the number starts');
  t.strictSame(parseJson('\ufeff{}', { allowByteOrderMark: true }), {});
});

t.test('size bound', async (t) => {
  const opts: JsonParseOptions = { maxLength: 10 };
  t.strictSame(parseJson('[1,2,3,44]', opts), [1, 2, 3, 44], 'exactly at the limit');
  const e = syntaxError(t, () => parseJson('[1,2,3,444]', opts));
  t.equal(e?.code, 'JSON_ERR_TOO_LARGE');
  t.equal(e?.offset, 10);
  t.match(e?.reason ?? '', /11 characters exceeds the limit of 10/);
  t.throws(() => parseJson('1', { maxLength: -1 }), RangeError);
});

t.test('sequences: JSON Lines and concatenated values, each with its place', async (t) => {
  const items = [...parseJsonSequence('{"a":1}\r\n[2]"x"\n 3 18446744073709551616\n')];
  t.strictSame(items.map((i) => [i.value, i.line, i.column]), [[{ a: 1 }, 1, 1], [[2], 2, 1], ['x', 2, 4], [3, 3, 2], [18446744073709551616n, 3, 4]]);
  const e = syntaxError(t, () => [...parseJsonSequence('1\nnull2')]);
  t.equal(e?.code, 'JSON_ERR_MISSING_SEPARATOR');
  t.equal(`${e?.line}:${e?.column}`, '2:5');
});

t.test('stringify: bigints exact, JSON.stringify layout, refusals name the path', async (t) => {
  const v = { a: [1, -(2n ** 63n), 'é"\n'], b: { c: null, d: true }, e: [] as never[], f: {} };
  t.equal(stringifyJson(v), '{"a":[1,-9223372036854775808,"é\\"\\n"],"b":{"c":null,"d":true},"e":[],"f":{}}');
  const plain = { a: [1, { b: [2, 3] }], c: {}, d: [] as never[] };
  t.equal(stringifyJson(plain, 2), JSON.stringify(plain, null, 2));
  t.equal(stringifyJson(plain, '\t'), JSON.stringify(plain, null, '\t'));
  const refused = (value: unknown, path: string, reason: RegExp) => {
    try {
      stringifyJson(value as never);
      t.fail(`${path}: nothing thrown`);
    } catch (e) {
      t.ok(e instanceof JsonValueError, `${path}: JsonValueError`);
      t.equal((e as JsonValueError).path, path);
      t.match((e as JsonValueError).reason, reason);
    }
  };
  refused({ a: { 'odd key': [0, Infinity] } }, '$.a["odd key"][1]', /Infinity cannot be written/);
  refused([1, undefined], '$[1]', /undefined cannot be written/);
  refused({ f: () => 1 }, '$.f', /function cannot be written/);
  refused({ m: new Map() }, '$.m', /Map is not a plain JSON object/);
  const loop: Record<string, unknown> = { a: [] };
  (loop.a as unknown[]).push(loop);
  refused(loop, '$' + '.a[0]'.repeat(16), /circular reference/);
  t.equal(stringifyJson({ a: undefined, b: 1 } as never, undefined, { undefinedMembers: 'omit' }), '{"b":1}');
  t.equal(stringifyJson(Object.assign(Object.create(null) as object, { x: 1 }) as never), '{"x":1}', 'null-prototype objects are plain');
  let deep: unknown = 0;
  for (let i = 0; i < 600; i++) deep = [deep];
  refused(deep, '$' + '[0]'.repeat(512), /nesting deeper than 512 levels/);
});

/**
 * Parses a text of 16 MiB padding beside `values` and takes the padding's value out. In a
 * function of its own: the interpreter's registers of a frame still running keep its temporaries
 * (the text) alive.
 */
function parsedBesidePadding(values: Record<string, string>): JsonValue {
  const v = parseJson(JSON.stringify({ ...values, pad: 'p'.repeat(16 << 20) })) as Record<string, JsonValue>;
  delete v['pad'];
  return v;
}

t.test('a parsed string does not keep the text it came from alive (V8 cuts long substrings as views into it)', (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // Long values (a MAC is 17 characters), a long key, and a string with escapes (built from
  // pieces of the text).
  const texts: Record<string, string>[] = [{ mac: '02:00:00:00:00:01', 'a key longer than thirteen': 'a longer value of some length' }, { s: 'a\ttab and a "quoted" word, long' }];
  for (const values of texts) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const value = parsedBesidePadding(values);
    gc();
    const grew = process.memoryUsage().heapUsed - before;
    t.same(value, values, 'values intact');
    t.ok(grew < 4 << 20, `${Object.keys(values).join(', ')}: the values do not hold the 16 MiB text (heap grew ${Math.round(grew / 1024)} KiB)`);
  }
  t.end();
});
