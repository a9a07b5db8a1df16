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
