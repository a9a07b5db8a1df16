/**
 * The state file's journal: a save appends one line of what changed (fsync'd before it
 * resolves), a load replays the lines after the snapshot, a torn last line is a save that was
 * never acknowledged (ignored), any other bad line is corruption, and compaction folds the
 * journal into a new snapshot without changing what a load returns, even when a crash comes
 * between the new snapshot and the journal's replacement.
 */
import t from 'tap';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptStateFile, FileStateStore, type StateChanges, type StoredState } from '../../controller/ha/store.js';

const loc = (name: string, node: string, ofport: number) => ({ name, mac: `02:00:00:00:${(ofport >> 8).toString(16).padStart(2, '0')}:${(ofport & 0xff).toString(16).padStart(2, '0')}`, node, ofport, source: 'learned', since: 1 });

function tempDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'vino-journal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function changes(c: Partial<StateChanges>): StateChanges {
  return { full: false, locations: [], removedLocations: [], migrations: [], removedMigrations: [], ...c };
}

/** A load's rows sorted by key, to compare regardless of order. */
function sorted(state: StoredState | undefined): { locations: unknown[]; migrations: unknown[] } {
  const by = (f: string) => (a: unknown, b: unknown) => (String((a as Record<string, unknown>)[f]) < String((b as Record<string, unknown>)[f]) ? -1 : 1);
  return { locations: [...(state?.locations ?? [])].sort(by('name')), migrations: [...(state?.migrations ?? [])].sort(by('id')) };
}

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');

t.test('a save appends one line of what changed; a load replays it over the snapshot', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  const s = new FileStateStore(file);
  await s.save({ locations: [loc('a', 'h1', 1), loc('b', 'h1', 2), loc('c', 'h2', 3)], migrations: [{ id: 'm1', state: 'prepared' }] });
  t.same(readdirSync(dir), ['state.json'], 'a whole write: the snapshot only');
  const snapshot = readFileSync(file, 'utf8');
  await s.saveChanges(changes({ locations: [loc('a', 'h2', 7)], removedLocations: ['b'], migrations: [{ id: 'm1', state: 'committed' }] }));
  await s.saveChanges(changes({ locations: [loc('d', 'h1', 9)], removedMigrations: ['m1'], migrations: [{ id: 'm2', state: 'prepared' }] }));
  t.equal(readFileSync(file, 'utf8'), snapshot, 'the snapshot is not rewritten');
  const journal = lines(s.journalFile);
  t.equal(journal.length, 2, 'one line per save');
  t.match(JSON.parse(journal[0]!), { seq: 1, locations: [{ name: 'a', node: 'h2' }], removedLocations: ['b'], migrations: [{ id: 'm1', state: 'committed' }] });
  t.notOk(/"name":"c"/.test(journal.join('\n')), 'rows that did not change are not written');
  const back = await new FileStateStore(file).load();
  t.same(sorted(back), { locations: [loc('a', 'h2', 7), loc('c', 'h2', 3), loc('d', 'h1', 9)], migrations: [{ id: 'm2', state: 'prepared' }] });
  // A save with nothing in it writes nothing.
  await s.saveChanges(changes({}));
  t.equal(lines(s.journalFile).length, 2);
});

t.test('an old snapshot (no journal id) loads, and the first save after it writes a new snapshot', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  writeFileSync(file, JSON.stringify({ version: 1, savedAt: '2026-01-01T00:00:00.000Z', locations: [loc('a', 'h1', 1)], migrations: [] }, null, 1));
  // A journal beside a snapshot that names none is not its journal (an older controller wrote the snapshot since).
  writeFileSync(`${file}.journal`, JSON.stringify({ journal: 'x', seq: 5, locations: [loc('a', 'h2', 2)] }) + '\n');
  const s = new FileStateStore(file);
  t.same((await s.load())?.locations, [loc('a', 'h1', 1)], 'the foreign journal is not replayed');
  await s.saveChanges(changes({ locations: [loc('b', 'h1', 3)] }));
  t.notOk(existsSync(`${file}.journal`), 'written as a new snapshot, the foreign journal removed');
  t.match(JSON.parse(readFileSync(file, 'utf8')), { version: 1, journal: String, seq: Number });
  t.same(sorted(await new FileStateStore(file).load()).locations, [loc('a', 'h1', 1), loc('b', 'h1', 3)]);
});

t.test('a torn last line (a save cut short, never acknowledged) is ignored, noted, and cut before the next append', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  const s = new FileStateStore(file);
  await s.save({ locations: [loc('a', 'h1', 1)], migrations: [] });
  await s.saveChanges(changes({ locations: [loc('a', 'h2', 2)] }));
  const whole = readFileSync(s.journalFile, 'utf8');
  appendFileSync(s.journalFile, whole.slice(0, Math.floor(whole.length / 2)).replace('"h2"', '"h9"'));
  const r = new FileStateStore(file);
  t.same((await r.load())?.locations, [loc('a', 'h2', 2)], 'the whole lines are replayed, the torn one ignored');
  t.match(r.loadNotes, [/torn/], 'the load notes it');
  await r.saveChanges(changes({ locations: [loc('b', 'h1', 3)] }));
  t.equal(lines(r.journalFile).length, 2, 'the torn bytes were cut: two whole lines');
  t.same(sorted(await new FileStateStore(file).load()).locations, [loc('a', 'h2', 2), loc('b', 'h1', 3)]);
});

t.test('a bad line that is not the last is corruption, naming the journal and the line', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  const s = new FileStateStore(file);
  await s.save({ locations: [loc('a', 'h1', 1)], migrations: [] });
  await s.saveChanges(changes({ locations: [loc('a', 'h2', 2)] }));
  await s.saveChanges(changes({ locations: [loc('b', 'h2', 3)] }));
  const [first, second] = lines(s.journalFile);
  for (const [what, bad] of [['garbage', '{"journal": tr'], ['a row without its name', JSON.stringify({ ...JSON.parse(first!), locations: [{ mac: '02:00:00:00:00:09' }] })], ['not an object', '[1]']] as const) {
    writeFileSync(s.journalFile, `${first}\n${bad}\n${second}\n`);
    await t.rejects(new FileStateStore(file).load(), { name: 'CorruptStateFile', message: new RegExp(`state file ${s.journalFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is truncated or corrupt \\(line 2: `) }, what);
  }
  // --state-reset moves the journal aside with its snapshot.
  const r = new FileStateStore(file);
  await t.rejects(r.load(), CorruptStateFile);
  const aside = await r.moveAside();
  t.ok(existsSync(aside) && existsSync(`${aside}.journal`), 'both moved aside');
  t.notOk(existsSync(file) || existsSync(`${file}.journal`));
});

t.test('compaction: past its bound the journal is folded into a new snapshot; a load returns the same', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  const s = new FileStateStore(file, { compactMinBytes: 4096 });
  const table = new Map<string, ReturnType<typeof loc>>();
  for (let i = 0; i < 50; i++) table.set(`c${i}`, loc(`c${i}`, 'h1', i + 1));
  await s.save({ locations: [...table.values()], migrations: [] });
  let maxJournal = 0;
  for (let i = 0; i < 400; i++) {
    const row = loc(`c${i % 60}`, i % 2 ? 'h1' : 'h2', 1000 + i);
    table.set(row.name, row);
    await s.saveChanges(changes({ locations: [row] }));
    maxJournal = Math.max(maxJournal, statSync(s.journalFile, { throwIfNoEntry: false })?.size ?? 0);
  }
  await s.settled();
  t.ok(s.compactions >= 2, `compacted (${s.compactions} times)`);
  t.equal(s.lastCompactionError, undefined);
  t.ok(maxJournal < 3 * 4096, `the journal stays bounded (at most ${maxJournal} bytes)`);
  t.same(readdirSync(dir).filter((f) => f.includes('tmp')), [], 'no temporary file left');
  t.same(sorted(await new FileStateStore(file).load()).locations, sorted({ locations: [...table.values()], migrations: [] }).locations, 'snapshot + journal hold every change');
});

t.test('a crash between the new snapshot and the journal swap loads the same state (replay is idempotent)', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'state.json');
  const s = new FileStateStore(file, { compactMinBytes: 1 << 30 });
  await s.save({ locations: [loc('a', 'h1', 1), loc('b', 'h1', 2)], migrations: [{ id: 'm1', state: 'prepared' }] });
  await s.saveChanges(changes({ locations: [loc('a', 'h2', 3)], removedLocations: ['b'] }));
  await s.saveChanges(changes({ locations: [loc('b', 'h2', 4)], migrations: [{ id: 'm1', state: 'committed' }] }));
  await s.saveChanges(changes({ locations: [loc('a', 'h1', 5)] }));
  const expected = sorted(await new FileStateStore(file).load());
  const journalBefore = readFileSync(s.journalFile, 'utf8');
  // A store that compacts at once: its new snapshot holds the three lines.
  const c = new FileStateStore(file, { compactMinBytes: 1 });
  await c.load();
  await c.saveChanges(changes({ locations: [loc('c', 'h2', 6)] }));
  await c.settled();
  t.equal(c.compactions, 1, 'compacted');
  t.notOk(existsSync(c.journalFile), 'nothing appended since the capture: no journal');
  const withC = { ...expected, locations: sorted({ locations: [...expected.locations, loc('c', 'h2', 6)], migrations: [] }).locations };
  t.same(sorted(await new FileStateStore(file).load()), withC, 'compacted: the same state');
  // The crash: the new snapshot landed, the old journal (every line already in it) was not swapped.
  writeFileSync(c.journalFile, journalBefore + JSON.stringify({ ...JSON.parse(journalBefore.split('\n')[0]!), seq: 4, locations: [loc('c', 'h2', 6)] }) + '\n');
  const r = new FileStateStore(file);
  t.same(sorted(await r.load()), withC, 'the stale lines are skipped (or replayed to the same effect)');
  t.match(r.loadNotes, [/already in the snapshot/]);
  // And the next save goes on from there.
  await r.saveChanges(changes({ removedLocations: ['a'] }));
  t.same(sorted(await new FileStateStore(file).load()).locations, withC.locations.filter((l) => (l as { name: string }).name !== 'a'));
  // A whole write after the old journal: the journal goes; had the crash kept it, its id is not the snapshot's.
  copyFileSync(r.journalFile, join(dir, 'old.journal'));
  await r.save({ locations: [loc('z', 'h1', 9)], migrations: [] });
  copyFileSync(join(dir, 'old.journal'), r.journalFile);
  t.same((await new FileStateStore(file).load())?.locations, [loc('z', 'h1', 9)], 'a journal of an older snapshot is not replayed');
});

t.test('a save after one change writes one row, whatever the size of the table', async (t) => {
  const growth: number[] = [];
  for (const size of [10, 10_000]) {
    const dir = tempDir(t);
    const s = new FileStateStore(join(dir, 'state.json'));
    await s.save({ locations: Array.from({ length: size }, (_, i) => loc(`c${String(i).padStart(6, '0')}`, 'h1', i + 1)), migrations: [] });
    await s.saveChanges(changes({ locations: [loc('c000001', 'h2', 77)] }));
    growth.push(statSync(s.journalFile).size);
    t.equal(lines(s.journalFile).length, 1);
  }
  t.equal(growth[1], growth[0], `the same bytes appended for 10 and 10,000 rows (${growth.join(', ')})`);
});
