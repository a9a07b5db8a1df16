/**
 * The state file: written atomically (a full disk keeps the previous file whole), and a
 * truncated or corrupt one stops the start with an error naming it, unless --state-reset
 * moves it aside.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startApp } from '../../controller/app.js';
import { loadTopology } from '../../src/topology/load.js';
import { repoRoot } from '../util/paths.js';

const topologyFile = join(repoRoot(), 'topologies', 'line-3.json');

/** A logger whose JSON lines the test can read. */
function capturingLogger() {
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as { msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

async function start(stateFile: string, extra: { stateReset?: boolean } = {}) {
  const { logger, lines } = capturingLogger();
  const app = await startApp({ topology: await loadTopology(topologyFile), ofListen: [{ host: '127.0.0.1', port: 0 }], apiListen: null, stateFile, logger, ...extra });
  return { app, lines };
}

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vino-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const moved = { name: 'c1', mac: '02:00:00:00:00:01', ip: '192.168.200.101', node: 'h2', ofport: 41, source: 'api' as const };

t.test('saved atomically: the file is whole JSON, no temporary file is left, and it is reloaded', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  const { app } = await start(file);
  app.controller.locations.set(moved);
  await app.controller.saveState();
  t.same(readdirSync(dir), ['state.json'], 'only the state file in the directory');
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { version: number; locations: { name: string; node: string }[] };
  t.equal(saved.version, 1);
  t.match(saved.locations.find((l) => l.name === 'c1'), { node: 'h2', ofport: 41 });
  await app.stop();
  const again = await start(file);
  t.teardown(() => again.app.stop());
  t.match(again.app.controller.locations.get('c1'), { node: 'h2', ofport: 41 }, 'reloaded at the next start');
});

t.test('a truncated, empty or corrupt state file stops the start, naming the file and --state-reset', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  const { app } = await start(file);
  app.controller.locations.set(moved);
  await app.stop();
  const good = readFileSync(file);
  const cases: [string, () => void][] = [
    ['truncated', () => truncateSync(file, Math.floor(good.length / 2))],
    ['empty', () => truncateSync(file, 0)],
    ['binary garbage', () => writeFileSync(file, Buffer.from([0x00, 0xff, 0x13, 0x37]))],
    ['JSON of another shape', () => writeFileSync(file, '[1, 2, 3]')],
    ['a location missing its node', () => writeFileSync(file, JSON.stringify({ version: 1, locations: [{ name: 'x', mac: '02:00:00:00:00:09', ofport: 1 }] }))],
  ];
  for (const [what, spoil] of cases) {
    writeFileSync(file, good);
    spoil();
    const spoiled = readFileSync(file);
    await t.rejects(start(file), { message: new RegExp(`state file ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is truncated or corrupt.*--state-reset`) }, `${what}: refused with the file and the flag named`);
    t.same(readFileSync(file), spoiled, `${what}: the file is left as it was`);
  }
});

t.test('--state-reset: the bad file is moved aside (logged) and the controller starts from the topology', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  writeFileSync(file, '{"version": 1, "locations": [{"name": "c1", "mac": "02:00:00:00:00:01", "no');
  const { app, lines } = await start(file, { stateReset: true });
  t.teardown(() => app.stop());
  t.match(app.controller.locations.get('c1'), { node: 'h1', source: 'topology' }, 'c1 where the topology puts it');
  const aside = readdirSync(dir).filter((f) => f.startsWith('state.json.corrupt-'));
  t.equal(aside.length, 1, 'moved aside as state.json.corrupt-<time>');
  t.match(readFileSync(join(dir, aside[0]!), 'utf8'), /"no$/, 'with its bytes unchanged');
  t.ok(lines.some((l) => /moved aside/.test(l.msg) && l['movedTo'] === join(dir, aside[0]!)), 'logged with where it went');
});

t.test('a full disk during a write loses no earlier state and is reported', async (t) => {
  if (process.getuid?.() !== 0) throw new Error('this test mounts a tmpfs: run it as root');
  const dir = mkdtempSync(join(tmpdir(), 'vino-state-'));
  // A tiny filesystem of our own: filling it up does not touch anyone else's disk.
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', `vino-state-test-${process.pid}`, dir]);
  let app: Awaited<ReturnType<typeof start>>['app'] | undefined;
  t.teardown(async () => {
    // In this order: the controller's last write, then the mount, then the directory.
    await app?.stop().catch(() => {});
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'state.json');
  const started = await start(file);
  app = started.app;
  const { lines } = started;
  app.controller.locations.set(moved);
  await app.controller.saveState();
  const before = readFileSync(file, 'utf8');
  t.match(before, /"ofport": 41/);
  // Fill the rest of the filesystem.
  const filler = join(dir, 'filler');
  const fd = openSync(filler, 'w');
  try {
    for (;;) writeSync(fd, Buffer.alloc(4096, 1));
  } catch (err) {
    t.equal((err as NodeJS.ErrnoException).code, 'ENOSPC', 'the filesystem is full');
  } finally {
    closeSync(fd);
  }
  app.controller.locations.set({ ...moved, ofport: 42 });
  // Grow the state so that it cannot fit where the old one was either.
  for (let i = 0; i < 40; i++) app.controller.locations.set({ name: `extra${i}`, mac: `02:00:00:00:01:${i.toString(16).padStart(2, '0')}`, node: 'h1', ofport: 100 + i, source: 'api' });
  await app.controller.saveState();
  t.equal((app.controller.lastSaveError as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC', 'the failed write is kept as lastSaveError');
  t.equal(readFileSync(file, 'utf8'), before, 'the previous state file is intact');
  t.same(readdirSync(dir).sort(), ['filler', 'state.json'], 'no temporary file left behind');
  t.ok(lines.some((l) => l.level === 50 && /could not save the state file/.test(l.msg) && /ENOSPC|no space/i.test(String(l['err']))), 'reported in the log');
  unlinkSync(filler);
  await app.controller.saveState();
  t.equal(app.controller.lastSaveError, undefined, 'the next write after space is freed succeeds');
  t.match(readFileSync(file, 'utf8'), /"ofport": 42/);
});
