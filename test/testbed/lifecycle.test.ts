// Teardown in the hard cases: a bring-up failing midway, a program interrupted by SIGTERM, a
// program killed outright (its leftovers removed by cleanupStale, which spares live runs).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import t, { type Test } from 'tap';
import { cleanupStale, up } from '../../testbed/index.js';
import { distFile } from '../util/paths.js';
import { cleanEnv, leftoversOf, loadExample, topologyFile } from './helpers.js';

const topology = await loadExample('line-3.json');

/** Starts child-up.js; resolves once its testbed is up. */
async function childWithTestbed(t: Test) {
  const child = spawn(process.execPath, [distFile('test/testbed/child-up.js'), topologyFile('line-3.json')], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  t.teardown(() => void child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout! });
  const first = await Promise.race([
    once(lines, 'line').then(([l]) => l as string),
    once(child, 'exit').then(() => {
      throw new Error(`child-up exited early: ${stderr}`);
    }),
  ]);
  const run = JSON.parse(first) as { runId: string; runDir: string };
  // Whatever happens in the test, leave nothing of the child's run behind.
  t.teardown(async () => {
    await cleanupStale({ runIds: [run.runId] });
  });
  return { child, ...run, stderr: () => stderr };
}

t.test('a bring-up failing midway removes what it made', async (t) => {
  // An ovs-vswitchd that fails at start, found first on PATH: the failure comes after the
  // namespaces, the underlay, the gateway and the ovsdb-servers exist.
  const dir = mkdtempSync(join(tmpdir(), 'vino-fake-ovs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ovs-vswitchd'), '#!/bin/sh\necho "fake ovs-vswitchd: refusing to start" >&2\nexit 1\n');
  chmodSync(join(dir, 'ovs-vswitchd'), 0o755);
  const savedPath = process.env['PATH'];
  process.env['PATH'] = `${dir}:${savedPath}`;
  t.teardown(() => {
    process.env['PATH'] = savedPath;
  });
  const logs: string[] = [];
  const err = await t.rejects(up(topology, { log: (m) => logs.push(m) }));
  process.env['PATH'] = savedPath;
  t.match((err as Error).message, /ovs-vswitchd in namespace vt[0-9a-f]{4}-\w+ exited during startup:\n.*fake ovs-vswitchd: refusing to start/);
  const runId = /testbed (vt[0-9a-f]{4}):/.exec(logs[0] ?? '')?.[1];
  t.ok(runId, `run id in the log: ${logs[0]}`);
  const runDir = /folder (\S+)/.exec(logs[0] ?? '')?.[1] ?? '';
  t.same(leftoversOf(runId!, runDir), [], 'nothing left of the failed run');
});

t.test('a long base folder is refused before anything is made', async (t) => {
  const baseDir = join(tmpdir(), 'x'.repeat(80));
  await t.rejects(up(topology, { baseDir }), /too long for Unix socket paths/);
});

t.test('SIGTERM: the exit handler tears the testbed down and the signal still ends the program', async (t) => {
  const c = await childWithTestbed(t);
  t.ok(leftoversOf(c.runId, c.runDir).length > 0, 'the child has a testbed');
  c.child.kill('SIGTERM');
  const [code, signal] = (await once(c.child, 'exit')) as [number | null, string | null];
  t.equal(signal, 'SIGTERM', `ended by the signal (code ${code}, stderr ${c.stderr()})`);
  t.same(leftoversOf(c.runId, c.runDir), [], 'nothing left');
});

t.test('SIGKILL leaves leftovers; cleanupStale removes them, but never a live run', async (t) => {
  const c = await childWithTestbed(t);
  const live = await cleanupStale({ runIds: [c.runId] });
  t.same(live.removed, [], 'a run whose owner runs is not stale');
  t.same(live.skipped, [{ runId: c.runId, ownerPid: c.child.pid }]);
  t.ok(leftoversOf(c.runId, c.runDir).some((l) => l.startsWith('process')), 'still running');

  c.child.kill('SIGKILL');
  await once(c.child, 'exit');
  const left = leftoversOf(c.runId, c.runDir);
  t.ok(left.some((l) => l.startsWith('namespace')) && left.some((l) => l.startsWith('process')), 'SIGKILL leaves the run behind');

  const r = await cleanupStale({ runIds: [c.runId] });
  t.same(r.errors, []);
  t.same(r.skipped, []);
  // `testbed down --all` of the CLI test, running in parallel, may have got there first.
  if (r.removed.length === 0) t.comment('the run was removed concurrently by another cleanup');
  else t.same(r.removed, [c.runId], 'removed as stale');
  t.same(leftoversOf(c.runId, c.runDir), [], 'nothing left');
});
