/** `vino-controller run` refuses unsafe or broken starts with exit 2 (usage) or 1, and says which flag fixes it. */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distFile, repoRoot } from '../util/paths.js';

const topology = join(repoRoot(), 'topologies', 'line-3.json');

/** Runs the CLI; a controller that starts instead of refusing is killed after `limitMs` (and reported as such). */
function run(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 15_000): Promise<{ code: number | null; stderr: string; killed: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [distFile('controller/cli.js'), 'run', '--topology', topology, '--of-listen', '127.0.0.1:0', ...args], {
      env: { ...process.env, VINO_API_TOKEN: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, killed });
    });
  });
}

t.test('--api-listen off loopback without a token: exit 2 naming --api-token', async (t) => {
  for (const addr of ['0.0.0.0:0', '[::]:0', '192.0.2.1:8080']) {
    const r = await run(['--api-listen', addr]);
    t.equal(r.code, 2, `${addr}: exit status 2`);
    t.match(r.stderr, /--api-token/, `${addr}: the error names --api-token`);
    t.notOk(r.killed, `${addr}: it did not start`);
  }
});

t.test('loopback addresses need no token; a token allows any address', async (t) => {
  // Started controllers are stopped by SIGTERM once they have logged that the API listens.
  const started = (args: string[], env: NodeJS.ProcessEnv = {}) => new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [distFile('controller/cli.js'), 'run', '--topology', topology, '--of-listen', '127.0.0.1:0', ...args], {
      env: { ...process.env, VINO_API_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/API listening/.test(out)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
  t.match(await started(['--api-listen', '127.0.0.1:0']), /API listening/, '127.0.0.1 without a token');
  t.match(await started(['--api-listen', '0.0.0.0:0', '--api-token', 's3cret']), /API listening/, '0.0.0.0 with --api-token');
  t.match(await started(['--api-listen', '0.0.0.0:0'], { VINO_API_TOKEN: 's3cret' }), /API listening/, '0.0.0.0 with $VINO_API_TOKEN');
});

t.test('a corrupt --state file: exit 1 naming the file and --state-reset; bad limits: exit 2 naming the flag', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vino-runflags-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'state.json');
  writeFileSync(file, '{"version": 1, "locat');
  const r = await run(['--api-listen', 'off', '--state', file]);
  t.equal(r.code, 1);
  t.match(r.stderr, file);
  t.match(r.stderr, /--state-reset/);
  for (const [flag, value] of [['--max-handshaking', '0'], ['--hello-timeout', 'soon'], ['--packet-in-rate', '-5'], ['--echo-rate', '1.5']] as const) {
    const bad = await run(['--api-listen', 'off', flag, value]);
    t.equal(bad.code, 2, `${flag} ${value}: exit 2`);
    t.match(bad.stderr, flag, `${flag} ${value}: named`);
  }
  const noState = await run(['--api-listen', 'off', '--state-reset']);
  t.equal(noState.code, 2, '--state-reset without --state: exit 2');
  t.match(noState.stderr, /--state-reset needs --state/);
});
