/** `vino-controller` validate / import-dsl run as a subprocess: exit codes and output. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distFile, repoRoot } from '../util/paths.js';
import { base, exampleFiles, topologiesDir } from './fixtures.js';

const cli = distFile('controller/cli.js');

// tap's loaders (NODE_OPTIONS) would otherwise load into every child and slow it down.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: repoRoot(), env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'vino-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

t.test('the entry point is an executable node script', async (t) => {
  t.match(readFileSync(join(repoRoot(), 'controller', 'cli.ts'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  t.match(readFileSync(cli, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

t.test('--version and --help', async (t) => {
  const version = JSON.parse(readFileSync(join(repoRoot(), 'package.json'), 'utf8')).version;
  t.same(run(['--version']), { status: 0, stdout: `vino-controller ${version}\n`, stderr: '' });
  const help = run(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /Usage: vino-controller COMMAND/);
  t.match(help.stdout, /\n {2}validate +check topology files/);
  t.match(help.stdout, /\n {2}import-dsl +convert a topology/);
  const sub = run(['validate', '--help']);
  t.equal(sub.status, 0);
  t.match(sub.stdout, /^Usage: vino-controller validate \[--resolved\] FILE\.\.\./);
  const helpCmd = run(['help', 'import-dsl']);
  t.equal(helpCmd.status, 0);
  t.match(helpCmd.stdout, /^Usage: vino-controller import-dsl /);
});

t.test('bad command lines exit 2', async (t) => {
  const none = run([]);
  t.equal(none.status, 2);
  t.match(none.stderr, /^vino-controller: missing --topology FILE: running the controller needs the topology file/, 'says what is missing');
  t.match(none.stderr, /Usage: vino-controller COMMAND/);
  t.match(none.stderr, /\n {2}validate +check topology files/, 'and lists the commands');
  const unknown = run(['frobnicate']);
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /unknown command "frobnicate"/);
  const noFile = run(['validate']);
  t.equal(noFile.status, 2);
  t.match(noFile.stderr, /^vino-controller validate: missing FILE\nUsage: vino-controller validate/);
  const badOpt = run(['validate', '--frob', 'x.json']);
  t.equal(badOpt.status, 2);
  t.equal(badOpt.stderr, 'vino-controller validate: unknown option --frob for `validate`; see `vino-controller validate --help`\n', 'in our words');
  const runOpt = run(['--topology', 'x.json', '--frob']);
  t.equal(runOpt.status, 2);
  t.equal(runOpt.stderr, 'vino-controller run: unknown option --frob for `run`; see `vino-controller run --help`\n');
  const noValue = run(['provision', '--topology']);
  t.equal(noValue.status, 2);
  t.equal(noValue.stderr, 'vino-controller provision: option --topology needs a value; see `vino-controller provision --help`\n');
  const flagValue = run(['validate', '--resolved=yes', 'x.json']);
  t.equal(flagValue.stderr, 'vino-controller validate: option --resolved takes no value; see `vino-controller validate --help`\n');
  for (const r of [badOpt, runOpt, noValue, flagValue]) t.notMatch(r.stderr, /positional|ERR_PARSE|To specify/, "none of node's wording");
  const badSubnet = run(['import-dsl', '--overlay-subnet', '10.0.0.1/8', 'x.py']);
  t.equal(badSubnet.status, 2);
  t.match(badSubnet.stderr, /--overlay-subnet: "10\.0\.0\.1\/8" has host bits set/);
});

t.test('validate: valid files', async (t) => {
  const files = exampleFiles();
  const r = run(['validate', ...files]);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.length, files.length, 'one summary line a file');
  t.ok(
    lines.includes(
      `${join(topologiesDir(), 'paper-fig1.json')}: ok: topology "paper-fig1": 4 nodes (2 switches, 2 hosts), 3 links (1 switch-switch, 2 switch-host), 0 containers`,
    ),
  );
});

t.test('validate --resolved prints the resolved topology', async (t) => {
  const r = run(['validate', '--resolved', join(topologiesDir(), 'two-region.json')]);
  t.equal(r.status, 0);
  const topo = JSON.parse(r.stdout);
  t.equal(topo.name, 'two-region');
  t.equal(topo.containers.web.node, 'h1');
  t.match(topo.nodes.sw1.bridge.dpid, /^[0-9a-f]{16}$/);
});

t.test('validate: every problem, one a line, with file:line:column', async (t) => {
  const topo = base();
  topo.links[1].host = 'h9';
  topo.containers.c2.mac = '02:00:00:00:00:01';
  topo.nodes.sw2.bridge = 'a-bridge-name-that-is-too-long';
  const file = write('broken.json', JSON.stringify(topo, null, 2));
  const r = run(['validate', file]);
  t.equal(r.status, 1);
  t.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  t.same(lines.map((l) => l.replace(/^.*?broken\.json:\d+:\d+: /, '')), [
    'nodes.sw2.bridge: "a-bridge-name-that-is-too-long" is 30 characters; Linux interface names are at most 15',
    'links[1].host: unknown node "h9"',
    'containers.c2.mac: MAC address 02:00:00:00:00:01 is already used by container "c1"',
    `${file}: invalid (3 problems)`,
  ]);
  const text = readFileSync(file, 'utf8').split('\n');
  const [, line] = /broken\.json:(\d+):\d+: links\[1\]\.host/.exec(r.stderr)!;
  t.match(text[Number(line) - 1], /"host": "h9"/, 'the line number points at the problem');
});

t.test('validate: invalid JSON, unreadable file; other files still checked', async (t) => {
  const bad = write('bad.json', '{\n  "name": "x",\n  "nodes": {\n    "sw1": { "kind": "switch" "region": "C" }\n  }\n}\n');
  const r = run(['validate', bad, join(dir, 'missing.json'), join(topologiesDir(), 'line-3.json')]);
  t.equal(r.status, 1);
  t.equal(
    r.stderr,
    [
      `${bad}:4:31: invalid JSON: unexpected '"'; expected ',' or '}' after the value of "kind"`,
      `${bad}: invalid (1 problem)`,
      `vino-controller validate: cannot read ${join(dir, 'missing.json')}: no such file`,
      '',
    ].join('\n'),
  );
  t.match(r.stdout, /line-3\.json: ok: /);
  t.equal(run(['validate', dir]).stderr.split('\n')[0], `vino-controller validate: cannot read ${dir}: is a directory`);
});

t.test('import-dsl: the paper example', async (t) => {
  const r = run(['import-dsl', 'topologies/paper-fig1.py']);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.equal(r.stdout, readFileSync(join(topologiesDir(), 'paper-fig1.json'), 'utf8'));
  const out = join(dir, 'fig1.json');
  const w = run(['import-dsl', '--name', 'fig-one', '-o', out, 'topologies/paper-fig1.py']);
  t.equal(w.status, 0);
  t.equal(w.stdout, '');
  t.equal(JSON.parse(readFileSync(out, 'utf8')).name, 'fig-one');
});

t.test('import-dsl: syntax errors name the line and column', async (t) => {
  const py = write('bad.py', "nodes['sw1'] = {'region': 'CORE'}\ntopology['sw1'] = [('h1', '192.168.200.10'),\n                   open('/etc/passwd')]\n");
  const r = run(['import-dsl', py]);
  t.equal(r.status, 1);
  t.equal(r.stdout, '');
  t.equal(
    r.stderr,
    `${py}:3:20: "open" is not a literal (names, calls and expressions are not supported; only literal values)\n${py}: not imported (1 problem)\n`,
  );
});

t.test('import-dsl: an invalid result is refused with DSL positions and a hint', async (t) => {
  const py = write('outside.py', "nodes['sw1'] = {'region': 'CORE'}\nnodes['h1'] = {'region': 'CORE'}\ntopology['sw1'] = [('h1', '10.1.2.3')]\n");
  const r = run(['import-dsl', py]);
  t.equal(r.status, 1);
  t.equal(
    r.stderr,
    [
      `${py}:3:20: links[0].overlay_ip: 10.1.2.3 is outside the overlay subnet 192.168.200.0/24`,
      'hint: pass --overlay-subnet CIDR when the DSL\'s addresses are not in 192.168.200.0/24',
      `${py}: not imported (1 problem)`,
      '',
    ].join('\n'),
  );
  const fixed = run(['import-dsl', '--overlay-subnet', '10.1.0.0/16', py]);
  t.equal(fixed.status, 0);
  t.equal(JSON.parse(fixed.stdout).overlay_subnet, '10.1.0.0/16');
  const missing = run(['import-dsl', join(dir, 'nope.py')]);
  t.equal(missing.status, 1);
  t.equal(missing.stderr, `vino-controller import-dsl: cannot read ${join(dir, 'nope.py')}: no such file\n`);
});
