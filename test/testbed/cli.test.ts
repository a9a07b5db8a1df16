// `vino-controller testbed up|down|status` across processes: up returns while the testbed keeps
// running, status and down in later processes find it through the state file.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { cleanupStale, Testbed, up, type TestbedStateFile } from '../../testbed/index.js';
import { testbedCommand } from '../../controller/commands/testbed.js';
import { UsageError } from '../../controller/commands/command.js';
import { isAlive } from '../../testbed/proc.js';
import { distFile, repoRoot } from '../util/paths.js';
import { cleanEnv, leftoversOf, loadExample, topologyFile } from './helpers.js';

// The command runs in a process of its own, as from a shell (whether or not controller/cli.ts
// lists it yet).
const wrapper = `import(${JSON.stringify(pathToFileURL(distFile('controller/commands/testbed.js')).href)}).then(async ({ testbedCommand }) => {
  process.exitCode = await testbedCommand.run(process.argv.slice(1), { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
});`;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['-e', wrapper, ...args], { cwd: repoRoot(), env: cleanEnv(), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same command in this process (quicker: no module loading per call). */
async function inProcess(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await testbedCommand.run(args, { out: (s) => (stdout += s), err: (s) => (stderr += s) });
  return { status, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'vino-testbed-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const stateDir = join(dir, 'state');
const topo = topologyFile('line-3.json');

t.test('up, status, down in separate processes', async (t) => {
  const upResult = cli('up', '--topology', topo, '--state-dir', stateDir);
  t.equal(upResult.status, 0, upResult.stderr);
  const stateFile = join(stateDir, 'line-3.json');
  t.ok(existsSync(stateFile), 'state file written');
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as TestbedStateFile;
  t.teardown(async () => {
    await cleanupStale({ runIds: [state.runId] });
  });
  t.match(upResult.stdout, new RegExp(`testbed ${state.runId} up for topology "line-3"`));
  for (const node of ['sw1', 'h1', 'h2']) {
    t.match(upResult.stdout, new RegExp(`\\n  ${node} +${state.underlayIps[node]!.replace(/\./g, '\\.')} +${state.runId}-${node} +unix:`), `${node} in the summary`);
    t.equal(state.topology.nodes[node]!.underlayIp, state.underlayIps[node], `${node}: underlay address in the state's topology`);
  }
  t.equal(state.topology.controller.host, state.underlay.gateway, 'controller reachable through the gateway');
  t.equal(state.record.owner, null, 'detached: no owner process');
  t.equal(state.pids.length, 6, 'two daemons per node');
  t.ok(state.pids.every(isAlive), 'the daemons outlive the up command');

  const status = cli('status', '--topology', topo, '--state-dir', stateDir);
  t.equal(status.status, 0, status.stderr);
  t.match(status.stdout, new RegExp(`^testbed ${state.runId}: healthy`));
  t.match(status.stdout, /\n {2}h1: \S+ \S+: ovsdb-server \d+, ovs-vswitchd \d+: ok\n/);
  const json = await inProcess('status', '--topology', topo, '--state-dir', stateDir, '--json');
  t.equal((JSON.parse(json.stdout) as { healthy: boolean }).healthy, true);

  // Another process can drive the run through its record.
  const bed = Testbed.attach(state.record, state.topology);
  t.match((await bed.node('h2').exec(['ip', '-o', '-4', 'addr', 'show', 'br-phy'])).stdout, state.underlayIps['h2']!);

  const again = await inProcess('up', '--topology', topo, '--state-dir', stateDir);
  t.equal(again.status, 1);
  t.match(again.stderr, new RegExp(`already up \\(run ${state.runId}`));

  // An unhealthy testbed says so.
  process.kill(state.record.nodes['h1']!.vswitchdPid!, 'SIGKILL');
  const sick = await inProcess('status', '--topology', topo, '--state-dir', stateDir);
  t.equal(sick.status, 1);
  // Right after the kill the pid may linger (not yet reaped): either way h1's vswitchd is reported.
  t.match(sick.stdout, /NOT healthy[\s\S]*h1: .*ovs-vswitchd (down: ovs-vswitchd \(pid \d+\) is not running|does not answer)/);

  const down = cli('down', '--topology', topo, '--state-dir', stateDir);
  t.equal(down.status, 0, down.stderr);
  t.equal(down.stdout, `testbed ${state.runId} removed\n`);
  t.same(leftoversOf(state.runId, state.runDir), [], 'nothing left');
  t.notOk(existsSync(stateFile), 'state file removed');

  const none = await inProcess('status', '--topology', topo, '--state-dir', stateDir);
  t.equal(none.status, 1);
  t.match(none.stderr, /no testbed for topology "line-3"/);
  const downAgain = await inProcess('down', '--topology', topo, '--state-dir', stateDir);
  t.equal(downAgain.status, 1);
});

t.test('down --run spares the run of a live program', async (t) => {
  // A run owned by this (live) process. (Not `down --all`: on a shared machine that would also
  // remove testbeds other people made with `testbed up`; cleanupStale's tests cover the rest.)
  const bed = await up(await loadExample('line-3.json'));
  t.teardown(() => bed.down());
  const r = await inProcess('down', '--run', bed.runId, '--state-dir', stateDir);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, `removed 0 stale testbeds\nleft ${bed.runId} alone: its owner, process ${process.pid}, is running\n`);
  t.equal((await bed.status()).healthy, true, 'still healthy');
});

t.test('command line and input errors', async (t) => {
  const io = { out: () => {}, err: () => {} };
  await t.rejects(testbedCommand.run([], io), UsageError);
  await t.rejects(testbedCommand.run(['sideways'], io), /unknown action "sideways"/);
  await t.rejects(testbedCommand.run(['status'], io), /missing --topology FILE/);
  await t.rejects(testbedCommand.run(['status', '--all'], io), /--all and --run are options of down/);
  await t.rejects(testbedCommand.run(['down', '--all', '--topology', topo], io), /exclude each other/);
  await t.rejects(testbedCommand.run(['down', '--run', 'vtxyz'], io), /not a run id/);
  await t.rejects(testbedCommand.run(['down', '--underlay', '10.0.0.0/24', '--topology', topo], io), /options of up/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"name": "x", "nodes": {}}');
  let err = '';
  const status = await testbedCommand.run(['up', '--topology', bad, '--state-dir', stateDir], { out: () => {}, err: (s) => (err += s) });
  t.equal(status, 1);
  t.match(err, /the topology .*bad\.json is invalid/);
});
