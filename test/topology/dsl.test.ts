/** The importer of the paper's Python DSL: the Fig. 1 example, the literal subset, and refusals. */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { importDsl, parseDsl } from '../../src/topology/dsl.js';
import { formatTopologyJson } from '../../src/topology/format.js';
import { formatProblem } from '../../src/topology/problems.js';
import { resolveTopology } from '../../src/topology/load.js';
import { topologiesDir } from './fixtures.js';

const fig1 = () => readFileSync(join(topologiesDir(), 'paper-fig1.py'), 'utf8');

t.test('paper Fig. 1 imports to the committed paper-fig1.json', async (t) => {
  const r = importDsl(fig1(), { sourceName: 'paper-fig1.py' });
  if (!r.ok) throw new Error(r.problems.map((p) => formatProblem(p)).join('\n'));
  t.equal(formatTopologyJson(r.file), readFileSync(join(topologiesDir(), 'paper-fig1.json'), 'utf8'));
});

t.test('paper Fig. 1 means what the paper says', async (t) => {
  const r = importDsl(fig1(), { sourceName: 'paper-fig1.py' });
  t.ok(r.ok);
  if (!r.ok) return;
  const topo = resolveTopology(r.file);
  t.equal(topo.controller.target, 'tcp:10.12.11.26:6633');
  t.same(
    Object.values(topo.nodes).map((n) => [n.name, n.kind, n.region, n.flavor, n.bridge.name]),
    [
      ['sw1', 'switch', 'CORE', 'm1.small', 'sw1_br'],
      ['sw2', 'switch', 'EDGE-TR1', 'm1.small', 'sw2_br'],
      ['h1', 'host', 'CORE', 'm1.tiny', 'h1_br'],
      ['h2', 'host', 'CORE', 'm1.tiny', 'h2_br'],
    ],
  );
  t.match(topo.nodes['sw1']!.bridge.internalPort, { name: 'p1', ip: '192.168.200.18' });
  t.same(
    topo.links.map((l) => [l.kind, l.a.node, l.b.node, l.overlayIp]),
    [
      ['switch-host', 'sw1', 'h1', '192.168.200.10'],
      ['switch-switch', 'sw2', 'sw1', null],
      ['switch-host', 'sw2', 'h2', '192.168.200.11'],
    ],
  );
  for (const n of Object.values(topo.nodes)) t.same(n.bridge.controller, topo.controller, `${n.name}: the controller of its bridge`);
});

t.test('the literal subset of Python', async (t) => {
  const src = [
    '#!/usr/bin/env python',
    '# -*- coding: utf-8 -*-',
    'nodes = {}',
    'topology = {}',
    '',
    "nodes[\"sw1\"] = {'contr_addr': u'10.0.0.1:6633',   # comment after a value",
    "                 'region': 'CORE', 'flavor': 'm1.' 'small',  # implicit concatenation",
    "                 'int_ip': ('p1', r'192.168.7.1'),}",
    "nodes['sw2'] = {'contr_addr': '10.0.0.2:6633', \\",
    "                'region': 'EDGE\\x2dTR1'}",
    "nodes['h1'] = {'region': 'CORE'}",
    "nodes['h2'] = {'region': 'EDGE-TR1', 'flavor': \"m1.tiny\"}",
    "topology['sw1'] = ['sw2', ('h1', '192.168.7.10', 'h1_br'),]",
    "topology['sw2'] = ['sw1', ('h2', '192.168.7.11')]   # sw1 again: the same link",
    '',
  ].join('\n');
  const r = importDsl(src, { name: 'lit', overlaySubnet: '192.168.7.0/24' });
  if (!r.ok) throw new Error(r.problems.map((p) => formatProblem(p)).join('\n'));
  t.same(r.file, {
    name: 'lit',
    controller: '10.0.0.1:6633',
    overlay_subnet: '192.168.7.0/24',
    nodes: {
      sw1: { kind: 'switch', region: 'CORE', flavor: 'm1.small', internal_port: { name: 'p1', ip: '192.168.7.1' } },
      sw2: { kind: 'switch', region: 'EDGE-TR1', controller: '10.0.0.2:6633' },
      h1: { kind: 'host', region: 'CORE', bridge: 'h1_br' },
      h2: { kind: 'host', region: 'EDGE-TR1', flavor: 'm1.tiny' },
    },
    links: [
      { switch: 'sw1', peer: 'sw2' },
      { switch: 'sw1', host: 'h1', overlay_ip: '192.168.7.10' },
      { switch: 'sw2', host: 'h2', overlay_ip: '192.168.7.11' },
    ],
    containers: {},
  });
});

t.test('values: numbers, constants, nesting, escapes', async (t) => {
  const s = parseDsl("nodes['a'] = {'n': -1.5e3, 'h': 0x1F, 'u': 1_000, 't': (True, False, None), 'l': [[], ()], 's': 'a\\tb\\'c\\u00e9'}\n");
  t.equal(s.length, 1);
  const v = s[0]!.value;
  t.equal(v.kind, 'dict');
  if (v.kind !== 'dict') return;
  const get = (k: string) => v.entries.find(([key]) => key.kind === 'str' && key.value === k)![1];
  t.match(get('n'), { kind: 'num', value: -1500 });
  t.match(get('h'), { kind: 'num', value: 31 });
  t.match(get('u'), { kind: 'num', value: 1000 });
  t.match(get('t'), { kind: 'tuple', items: [{ value: true }, { value: false }, { value: null }] });
  t.match(get('l'), { kind: 'list', items: [{ kind: 'list', items: [] }, { kind: 'tuple', items: [] }] });
  t.match(get('s'), { kind: 'str', value: "a\tb'cé" });
});

const refused: [string, string, string][] = [
  ['import statement', 'import os\n', '1:1: unknown name "import" (only nodes[...] and topology[...] assignments are understood)'],
  ['code that would run', "__import__('os').system('touch /tmp/x')\n", '1:1: unknown name "__import__" (only nodes[...] and topology[...] assignments are understood)'],
  ['a call as a value', "nodes['h1'] = dict(region='CORE')\n", '1:15: "dict" is not a literal (names, calls and expressions are not supported; only literal values)'],
  ['another variable', 'x = 1\n', '1:1: unknown name "x" (only nodes[...] and topology[...] assignments are understood)'],
  ['an expression', "nodes['sw1'] = {'region': 'C' + 'D'}\n", "1:31: expected ',' or '}' after a dict entry, got '+'"],
  ['a method call', 'nodes.update({})\n', "1:6: expected '[' after \"nodes\", got '.'"],
  ['two statements on a line', "nodes['h1'] = {'region': 'CORE'}; nodes['h2'] = {}\n", "1:33: expected end of line after the assignment, got ';'"],
  ['indented statement', "nodes = {}\n  nodes['h1'] = {}\n", '2:1: unexpected indentation (statements start in column 1)'],
  ['unquoted key', 'nodes[h1] = {}\n', '1:7: expected a quoted name inside nodes[...], got "h1"'],
  ['unterminated string', "nodes['h1'] = {'region': \"CORE}\n", '1:26: unterminated string'],
  ['unclosed bracket', "nodes['sw1'] = {'region': 'CORE'\n\n", "1:16: '{' opened here is never closed"],
  ['mismatched bracket', "topology['s'] = [('h1', '1.2.3.4']\n", "1:34: ']' does not close the '(' opened at line 1, column 18"],
  ['stray backslash', "nodes['a'] = \\ {}\n", "1:14: unexpected '\\' (a backslash outside a string must end the line)"],
  ['absurd nesting', `nodes['a'] = ${'['.repeat(100)}${']'.repeat(100)}\n`, '1:78: literal nested deeper than 64 levels'],
  ['f-string', "nodes['a'] = f'x'\n", '1:14: f-string literals are not supported'],
  ['whole-dict assignment with content', "nodes = {'a': 1}\n", '1:1: only "nodes = {}" may assign nodes as a whole'],
  ['unknown node key', "nodes['sw1'] = {'region': 'CORE', 'flavour': 'm1.small'}\n", "1:35: unknown key 'flavour' in nodes['sw1'] (known: contr_addr, region, flavor, bridge_name, int_ip)"],
  ['node assigned twice', "nodes['sw1'] = {'region': 'CORE'}\nnodes['sw1'] = {'region': 'EDGE'}\n", "2:1: nodes['sw1'] is assigned twice (first at line 1)"],
  ['region not a string', "nodes['sw1'] = {'region': 5}\n", "1:27: nodes['sw1']['region'] must be a string, got number 5"],
  [
    'a name used as host and switch',
    "nodes['a'] = {'region': 'X'}\nnodes['b'] = {'region': 'X'}\ntopology['a'] = [('b', '192.168.200.2')]\ntopology['b'] = []\n",
    '4:10: "b" is used as a switch here but as a host at line 3, column 19',
  ],
  ['bad topology entry', "topology['sw1'] = [5]\n", "1:20: a topology['sw1'] entry must be a switch name or a tuple (host, overlay_ip[, bridge]), got number 5"],
  ['int_ip on a host', "nodes['h1'] = {'region': 'C', 'int_ip': ('p1', '192.168.200.3')}\n", "1:41: 'int_ip' is for switches, but \"h1\" is a host (a host's overlay address is in its topology entry)"],
  [
    'bridge given twice, differently',
    "nodes['sw1'] = {'region': 'C'}\nnodes['h1'] = {'region': 'C', 'bridge_name': 'x_br'}\ntopology['sw1'] = [('h1', '192.168.200.4', 'y_br')]\n",
    '3:20: bridge "y_br" of host "h1" differs from its bridge_name "x_br"',
  ],
  // The result is validated; problems point at the DSL text they come from.
  ['unknown host', "nodes['sw1'] = {'region': 'CORE'}\ntopology['sw1'] = [\n    ('h9', '192.168.200.10'),\n]\n", '3:5: links[0].host: unknown node "h9"'],
  [
    'address outside the overlay subnet',
    "nodes['sw1'] = {'region': 'CORE'}\nnodes['h1'] = {'region': 'CORE'}\ntopology['sw1'] = [('h1', '10.1.2.3')]\n",
    '3:20: links[0].overlay_ip: 10.1.2.3 is outside the overlay subnet 192.168.200.0/24',
  ],
  ['missing region', "nodes['sw1'] = {'contr_addr': '10.0.0.1:6633'}\n", '1:1: nodes.sw1.region: required (a string)'],
  ['bad controller address', "nodes['sw1'] = {'region': 'C', 'contr_addr': '10.0.0.1'}\n", '1:46: controller: "10.0.0.1" is not host:port (missing ":port", e.g. 127.0.0.1:6633)'],
];

for (const [name, src, expected] of refused) {
  t.test(`refused: ${name}`, async (t) => {
    const r = importDsl(src, { sourceName: 't.py' });
    t.notOk(r.ok);
    if (r.ok) return;
    t.same(
      r.problems.map((p) => formatProblem(p, 't.py')),
      [`t.py:${expected}`],
    );
  });
}

t.test('nothing is executed', async (t) => {
  const marker = join(tmpdir(), `vino-dsl-${process.pid}-${Date.now()}`);
  const r = importDsl(`nodes['a'] = {}\n__import__('os').system('touch ${marker}')\n`);
  t.notOk(r.ok);
  t.notOk(existsSync(marker));
});

t.test('the topology name comes from the file name', async (t) => {
  const src = "nodes['sw1'] = {'region': 'C'}\ntopology['sw1'] = []\n";
  const r = importDsl(src, { sourceName: '/some/dir/My Topo.v2.py' });
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.file.name, 'My-Topo.v2');
    t.equal(r.file.description, 'Imported from My Topo.v2.py (ViNO topology DSL).');
  }
  const anon = importDsl(src);
  t.ok(anon.ok && anon.file.name === 'imported');
});
