/**
 * The controller's logs: --log-format json (level names, ISO times) and pretty, the default by
 * whether stdout is a terminal, and the start-up line naming the topology file, its size, its
 * counts and the listen addresses.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { defaultLogFormat, makeLogger, parseLogFormat } from '../../controller/commands/log-format.js';
import { distFile, repoRoot } from '../util/paths.js';

const cli = distFile('controller/cli.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));
const topologyFile = join('topologies', 'two-region.json');

/** Starts the controller on ephemeral loopback ports, waits for the start-up line, stops it. */
async function startAndStop(extra: string[]): Promise<{ out: string; code: number | null }> {
  const child = spawn(process.execPath, [cli, '--topology', topologyFile, '--of-listen', '127.0.0.1:0', '--api-listen', '127.0.0.1:0', ...extra], { cwd: repoRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  // 'close', not 'exit': the last lines may still be in the pipe when the process has exited.
  const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  while (!/started: topology/.test(out) && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  const code = await exited;
  return { out, code };
}

t.test('json: one object a line, level names, ISO times, the start-up line', async (t) => {
  const { out, code } = await startAndStop(['--log-format', 'json']);
  t.equal(code, 0, 'clean stop');
  const lines = out.trim().split('\n').map((l) => JSON.parse(l));
  for (const l of lines) {
    t.type(l.level, 'string');
    t.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  const started = lines.find((l) => String(l.msg).startsWith('started: '));
  t.ok(started, 'start-up line');
  t.equal(started.level, 'info');
  const bytes = statSync(join(repoRoot(), topologyFile)).size;
  t.match(started.topology, { file: topologyFile, bytes, name: 'two-region', nodes: 7, links: 6 });
  t.match(started.openflow, [/^127\.0\.0\.1:\d+$/]);
  t.match(started.api, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.match(started.msg, `started: topology ${topologyFile} (${bytes} bytes, "two-region": 7 nodes`);
  t.ok(lines.some((l) => l.level === 'info' && /stopping/.test(l.msg)), 'the stop is logged too');
});

t.test('pretty: readable lines, no JSON', async (t) => {
  const { out, code } = await startAndStop(['--log-format', 'pretty']);
  t.equal(code, 0);
  t.match(out, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [+-]\d{4}\] INFO: started: topology /m);
  t.notMatch(out, /^\{"level"/m);
});

t.test('default: json when stdout is not a terminal; pretty on one', async (t) => {
  const { out } = await startAndStop([]);
  t.match(out, /^\{"level":"info","time":"/m);
  t.equal(defaultLogFormat({ isTTY: true }), 'pretty');
  t.equal(defaultLogFormat({ isTTY: false }), 'json');
  t.equal(defaultLogFormat({}), 'json');
});

t.test('makeLogger writes where told; bad --log-format is a usage error', async (t) => {
  const sink = new PassThrough();
  let text = '';
  sink.on('data', (d) => (text += d));
  makeLogger({ level: 'info', format: 'json', destination: sink }).warn({ n: 1 }, 'hello');
  await new Promise((r) => setImmediate(r));
  t.match(JSON.parse(text), { level: 'warn', msg: 'hello', n: 1, app: 'vino-controller' });
  t.throws(() => parseLogFormat('xml'), /--log-format: expected pretty or json, got "xml"/);
  const r = spawnSync(process.execPath, [cli, '--topology', topologyFile, '--log-format', 'xml'], { cwd: repoRoot(), env, encoding: 'utf8' });
  t.equal(r.status, 2);
  t.match(r.stderr, /--log-format: expected pretty or json, got "xml"/);
});
