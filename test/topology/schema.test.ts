/** schema.json is generated from the zod schema; the JSON reader reports places and duplicate keys. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { schemaFileText } from '../../src/topology/gen-schema.js';
import { parseJsonSource } from '../../src/topology/json-source.js';
import { analyzeTopologyText } from '../../src/topology/load.js';
import { formatProblem } from '../../src/topology/problems.js';
import { repoRoot } from '../util/paths.js';

t.test('schema/topology.schema.json is up to date (run `npm run gen:schema`)', async (t) => {
  const committed = readFileSync(join(repoRoot(), 'schema', 'topology.schema.json'), 'utf8');
  t.equal(committed, schemaFileText(), 'schema.json differs from the zod schema: run npm run gen:schema');
});

t.test('schema.json documents the defaults and formats editors need', async (t) => {
  const schema = JSON.parse(schemaFileText());
  t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  t.same(schema.required, ['name', 'nodes']);
  t.equal(schema.additionalProperties, false);
  t.equal(schema.properties.controller.default, '127.0.0.1:6633');
  t.equal(schema.properties.overlay_subnet.default, '192.168.200.0/24');
  const [sw, host] = schema.properties.nodes.additionalProperties.oneOf;
  t.equal(sw.properties.kind.const, 'switch');
  t.equal(host.properties.kind.const, 'host');
  t.equal(sw.properties.flavor.default, 'm1.small');
  t.equal(host.properties.flavor.default, 'm1.tiny');
  t.equal(sw.properties.bridge.pattern, '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$');
  t.equal(sw.properties.dpid.pattern, '^[0-9A-Fa-f]{16}$');
  t.match(sw.properties.bridge.description, /Default: "<node>_br"/);
  const [hostLink, switchLink] = schema.properties.links.items.anyOf;
  t.same(hostLink.required, ['switch', 'host', 'overlay_ip']);
  t.same(switchLink.required, ['switch', 'peer']);
  t.equal(hostLink.properties.vni.maximum, 16777215);
  // Every property carries a description (editor hover text), the kind literals included.
  const missing: string[] = [];
  const walk = (node: any, path: string) => {
    if (!node || typeof node !== 'object') return;
    if (node.properties) {
      for (const [k, v] of Object.entries<any>(node.properties)) {
        if (!v.description) missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
    }
    for (const key of ['additionalProperties', 'items']) walk(node[key], `${path}.${key}`);
    for (const key of ['oneOf', 'anyOf']) (node[key] ?? []).forEach((n: unknown, i: number) => walk(n, `${path}.${key}[${i}]`));
  };
  walk(schema, '$');
  t.same(missing, []);
});

const syntax: [string, string, string][] = [
  ['empty file', '', '1:1: invalid JSON: empty file; expected a JSON object'],
  ['trailing comma', '{\n  "name": "x",\n}', "3:1: invalid JSON: trailing comma before '}'"],
  ['missing comma', '{\n  "name": "x"\n  "nodes": {}\n}', '3:3: invalid JSON: unexpected \'"\'; expected \',\' or \'}\' after the value of "name"'],
  ['single quotes', "{'name': 'x'}", '1:2: invalid JSON: unexpected \'\'\'; expected a "quoted" member name'],
  ['single-quoted value', "{\"name\": 'x'}", '1:10: invalid JSON: single-quoted string; JSON strings use double quotes'],
  ['unterminated string', '{"name": "x', '1:10: invalid JSON: unterminated string'],
  ['newline in a string', '{"name": "a\nb"}', '1:12: invalid JSON: end of line inside a string (escape it, or close the string)'],
  ['comment', '{\n  // nodes\n}', "2:3: invalid JSON: unexpected '/'; expected a \"quoted\" member name"],
  ['bad literal', '{"a": tru}', "1:7: invalid JSON: unexpected 't'; expected a JSON value"],
  ['leading zero', '{"a": 01}', '1:7: invalid JSON: malformed number "01"'],
  ['garbage after the value', '{}\n}', "2:1: invalid JSON: unexpected '}' after the end of the JSON value"],
  ['bad escape', '{"a": "\\q"}', '1:8: invalid JSON: bad escape \\q in string'],
  ['absurd nesting', '['.repeat(100) + ']'.repeat(100), '1:66: invalid JSON: nesting deeper than 64 levels'],
  ['duplicate node', '{\n  "nodes": {\n    "h1": {},\n    "h1": {}\n  }\n}', '4:5: nodes: duplicate key "h1" (first defined at line 3, column 5)'],
];

for (const [name, text, expected] of syntax) {
  t.test(`JSON: ${name}`, async (t) => {
    const r = parseJsonSource(text);
    t.notOk(r.ok);
    if (!r.ok) t.same(r.problems.map((p) => formatProblem(p, 'f.json')), [`f.json:${expected}`]);
  });
}

t.test('JSON: values and positions', async (t) => {
  const text = '\ufeff{\r\n  "a": [1, -2.5e1, true, false, null, "\\u00e9\\n"],\r\n  "b": {"c": {}}\r\n}';
  const r = parseJsonSource(text);
  t.ok(r.ok);
  if (!r.ok) return;
  t.same(r.source.value, { a: [1, -25, true, false, null, 'é\n'], b: { c: {} } });
  t.same(r.source.locate(['a']), { line: 2, column: 3 });
  t.same(r.source.locate(['a', 1]), { line: 2, column: 12 });
  t.same(r.source.locate(['b', 'c']), { line: 3, column: 9 });
  t.same(r.source.locate(['b', 'c', 'missing']), { line: 3, column: 9 }, 'nearest ancestor');
  t.same(r.source.value, JSON.parse(text.slice(1)), 'same value as JSON.parse');
});

t.test('JSON: "__proto__" is an ordinary key', async (t) => {
  const r = parseJsonSource('{"__proto__": {"x": 1}}');
  t.ok(r.ok);
  if (!r.ok) return;
  const v = r.source.value as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(v), Object.prototype);
  t.ok(Object.prototype.hasOwnProperty.call(v, '__proto__'));
  t.equal((v as { x?: unknown }).x, undefined);
});

t.test('problems in a file carry the place of the value', async (t) => {
  const text = [
    '{',
    '  "name": "pos",',
    '  "nodes": {',
    '    "sw1": { "kind": "switch", "region": "CORE" },',
    '    "h1": { "kind": "host", "region": "CORE", "colour": "red" }',
    '  },',
    '  "links": [',
    '    { "switch": "sw1", "host": "h9", "overlay_ip": "192.168.200.10" }',
    '  ]',
    '}',
  ].join('\n');
  const { topology, problems } = analyzeTopologyText(text);
  t.equal(topology, null);
  t.same(
    problems.map((p) => formatProblem(p, 'pos.json')),
    [
      'pos.json:5:47: nodes.h1.colour: unknown key (allowed: kind, region, bridge, controller, underlay_ip, ssh, dpid, flavor)',
      'pos.json:8:24: links[0].host: unknown node "h9"',
    ],
  );
});
