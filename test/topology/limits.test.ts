/**
 * Bounded input: the topology size limit (checked before reading, and while reading what has
 * no size), problem lists cut at --max-problems with a count, and files with 100,000+ problems
 * reported without a stack overflow, by every command that reads a topology.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_TOPOLOGY_BYTES, InputFileError, parseByteCount, readInputFile } from '../../src/input/read-file.js';
import { analyzeTopologyFile } from '../../src/topology/load.js';
import { distFile, repoRoot } from '../util/paths.js';
import { base } from './fixtures.js';

const cli = distFile('controller/cli.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: repoRoot(), env, encoding: 'utf8', timeout: 280_000, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

const dir = mkdtempSync(join(tmpdir(), `vino-limits-${process.pid}-`));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

t.test('byte counts', async (t) => {
  t.equal(DEFAULT_MAX_TOPOLOGY_BYTES, 16 * 1024 * 1024);
  t.equal(parseByteCount('1000', '--x'), 1000);
  t.equal(parseByteCount('2K', '--x'), 2048);
  t.equal(parseByteCount('16MiB', '--x'), 16 << 20);
  t.equal(parseByteCount('1g', '--x'), 1 << 30);
  t.throws(() => parseByteCount('0', '--x'), /--x: expected a positive number of bytes, got "0"/);
  t.throws(() => parseByteCount('ten', '--x'), /--x: expected a number of bytes \(e\.g\. 16777216 or 16M\), got "ten"/);
});

t.test('a file above the limit is refused by its size, naming the file, size and flag', async (t) => {
  const file = write('big.json', JSON.stringify(base()) + ' '.repeat(5000));
  const size = statSync(file).size;
  await t.rejects(readInputFile(file, { maxBytes: 1000, option: '--max-topology-bytes' }), {
    name: 'InputFileError',
    message: `cannot read ${file}: its size, ${size} bytes, is larger than the limit of 1000 bytes; raise the limit with --max-topology-bytes BYTES`,
  });
  t.equal(await readInputFile(file, { maxBytes: size }), JSON.stringify(base()) + ' '.repeat(5000), 'exactly the limit is fine');
  const a = await analyzeTopologyFile(file, { maxBytes: 1000 });
  t.ok(a.readError instanceof InputFileError);
  t.equal(a.topology, null);
  const ok = await analyzeTopologyFile(file);
  t.ok(ok.topology, 'the default limit admits it');
  t.equal(ok.bytes, size);

  for (const args of [
    ['validate', '--max-topology-bytes', '1000', file],
    ['--topology', file, '--max-topology-bytes', '1000', '--api-listen', 'off', '--of-listen', '127.0.0.1:0'],
    ['provision', '--topology', file, '--max-topology-bytes', '1000'],
    ['testbed', 'status', '--topology', file, '--max-topology-bytes', '1000'],
  ]) {
    const r = run(args);
    t.equal(r.status, 1, args.join(' '));
    t.match(r.stderr, `cannot read ${file}: its size, ${size} bytes, is larger than the limit of 1000 bytes; raise the limit with --max-topology-bytes BYTES`, args[0]!);
  }
  const py = write('big.py', "nodes['sw1'] = {'region': 'CORE', 'flavor': 'm1.small'}\n".repeat(100));
  const r = run(['import-dsl', '--max-topology-bytes', '1K', py]);
  t.equal(r.status, 1);
  t.match(r.stderr, /^vino-controller import-dsl: cannot read .*big\.py: its size, \d+ bytes, is larger than the limit of 1024 bytes/);
  const bad = run(['validate', '--max-topology-bytes', 'lots', file]);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /--max-topology-bytes: expected a number of bytes/);
});

t.test('what has no size (a pipe) is cut off while reading', async (t) => {
  const fifo = join(dir, 'fifo');
  const mk = spawnSync('mkfifo', [fifo]);
  t.equal(mk.status, 0, 'mkfifo');
  const reading = readInputFile(fifo, { maxBytes: 100_000, option: '--max-topology-bytes' });
  const w = createWriteStream(fifo);
  w.on('error', () => {}); // the reader closes early: EPIPE is expected
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  for (let i = 0; i < 4; i++) w.write(chunk);
  w.end();
  await t.rejects(reading, { message: `cannot read ${fifo}: its content (more than 100000 bytes so far) is larger than the limit of 100000 bytes; raise the limit with --max-topology-bytes BYTES` });
});

t.test('--max-problems: the first N, then how many more', async (t) => {
  const topo = base();
  for (let i = 0; i < 7; i++) topo.nodes[`x${i}`] = { kind: 'host', region: 'R', colour: 'red' };
  const file = write('seven.json', JSON.stringify(topo, null, 2));
  const r = run(['validate', '--max-problems', '3', file]);
  t.equal(r.status, 1);
  const lines = r.stderr.trimEnd().split('\n');
  t.equal(lines.length, 5);
  t.match(lines[0], /seven\.json:\d+:\d+: nodes\.x0\.colour: unknown key/);
  t.match(lines[2], /nodes\.x2\.colour/);
  t.equal(lines[3], '... and 4 more problems (--max-problems N lists more)');
  t.equal(lines[4], `${file}: invalid (7 problems)`);
  const all = run(['validate', file]);
  t.equal(all.stderr.trimEnd().split('\n').length, 8, 'under the default of 100: every problem');
  const controller = run(['--topology', file, '--max-problems', '1', '--api-listen', 'off']);
  t.equal(controller.status, 1);
  t.match(controller.stderr, /^vino-controller: the topology .*seven\.json is invalid \(7 problems\):\n {2}.*nodes\.x0\.colour: unknown key.*\n {2}\.\.\. and 6 more problems/);
  t.equal(run(['validate', '--max-problems', '-1', file]).status, 2);
});

t.test('100,000 nodes with a problem each: reported, no stack overflow', async (t) => {
  // Schema problems (an unknown key on every node) ...
  const nodes: Record<string, unknown> = { sw: { kind: 'switch', region: 'R' } };
  for (let i = 0; i < 100_000; i++) nodes[`n${i}`] = { kind: 'host', region: 'R', bogus: 1 };
  const schemaFile = write('schema-100k.json', JSON.stringify({ name: 'big', nodes }));
  const a = run(['validate', '--max-problems', '2', schemaFile]);
  t.equal(a.status, 1);
  t.notMatch(a.stderr, /RangeError|internal error/);
  t.match(a.stderr, /:1:\d+: nodes\.n0\.bogus: unknown key/, 'in file order, also past column 1,000,000');
  t.match(a.stderr, '... and 99998 more problems');
  t.match(a.stderr, `${schemaFile}: invalid (100000 problems)`);

  // ... and whole-file problems (150,000 hosts without a link), which once went through push(...xs).
  const hosts: Record<string, unknown> = {};
  for (let i = 0; i < 150_000; i++) hosts[`h${i}`] = { kind: 'host', region: 'R' };
  const semFile = write('sem-150k.json', JSON.stringify({ name: 'big', nodes: hosts }));
  for (const args of [['validate', semFile], ['--topology', semFile, '--api-listen', 'off']]) {
    const r = run(args);
    t.equal(r.status, 1, args[0]!);
    t.notMatch(r.stderr, /RangeError|internal error/, args[0]!);
    t.match(r.stderr, /and 149901 more problems/, args[0]!);
  }
});

t.test('the controller reports an unreadable topology in one line', async (t) => {
  const missing = join(dir, 'nope.json');
  const r = run(['--topology', missing]);
  t.equal(r.status, 1);
  t.equal(r.stderr, `vino-controller: cannot read ${missing}: no such file\n`);
  const child = spawn(process.execPath, [cli, 'testbed', 'status', '--topology', missing], { env });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  t.equal(code, 1);
  t.equal(err, `vino-controller testbed: cannot read ${missing}: no such file\n`);
});
