/**
 * `npm run demo` points at the controller's log while it runs; the testbed folder holding it
 * goes with the teardown, so the demo must keep a copy where it says (real OVS, root).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { distFile, repoRoot } from '../util/paths.js';

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_OPTIONS'));

t.test('the demo keeps the logs it points to', async (t) => {
  const r = spawnSync(process.execPath, [distFile('testbed/demo.js')], { cwd: repoRoot(), env, encoding: 'utf8', timeout: 280_000 });
  const kept = /kept in (\/\S+): the testbed folder goes with the teardown/.exec(r.stdout)?.[1];
  if (kept) t.teardown(() => rmSync(kept, { recursive: true, force: true }));
  t.equal(r.status, 0, `demo: ${r.stderr.slice(-2000)}`);
  t.ok(kept, 'it says where the logs are kept');
  const during = /log: JSON lines in (\/\S+), copied to (\/\S+) at the end\)/.exec(r.stdout);
  t.ok(during, 'the log path printed while it runs names the copy too');
  if (!kept || !during) return;
  t.equal(during[2], kept, 'the same folder');
  t.notOk(existsSync(during[1]!), 'the original is gone with the testbed');
  const log = readFileSync(`${kept}/vino.log`, 'utf8');
  const started = log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((l) => String(l.msg).startsWith('started: topology'));
  t.ok(started, 'the kept log has the start-up line');
  t.match(started, { level: 'info', topology: { name: 'two-region', nodes: 7 } });
  t.ok(existsSync(`${kept}/demo-client.json`), 'and the client record');
});

t.test('Ctrl-C keeps the logs too, and tears everything down', async (t) => {
  const { spawn } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const keep = mkdtempSync(`${tmpdir()}/vino-demo-sigint-`);
  t.teardown(() => rmSync(keep, { recursive: true, force: true }));
  const child = spawn(process.execPath, [distFile('testbed/demo.js'), '--keep-logs', keep], { cwd: repoRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  // Interrupt once the controller runs (its log exists), as a user pressing Ctrl-C mid-demo.
  const listening = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 200_000);
    child.stdout.on('data', () => {
      if (/listening; API/.test(out)) { clearTimeout(timer); resolve(true); }
    });
    child.once('exit', () => { clearTimeout(timer); resolve(false); });
  });
  t.ok(listening, `the demo got as far as the controller: ${out.slice(-1500)}`);
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.equal(code, 130, 'exits 130 after an interrupt');
  t.match(out, new RegExp(`kept in ${keep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'says where the logs are');
  t.ok(existsSync(`${keep}/vino.log`), 'the controller log is kept');
});
