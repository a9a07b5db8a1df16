/**
 * Failed state saves are retried on a timer with a capped backoff, so the store catches up when
 * it returns without any further change; retries stop when the controller is no longer in
 * charge or stops. A store that fails on demand stands in for etcd (the etcd-loss test covers
 * the real one); the backoff is shortened so that the test runs quickly.
 */
import t from 'tap';
import { join } from 'node:path';
import pino from 'pino';
import { Controller } from '../../controller/shell/controller.js';
import { StoreUnavailable, type StateStore, type StoredState } from '../../controller/ha/store.js';
import { loadTopology } from '../../src/topology/load.js';
import { repoRoot } from '../util/paths.js';
import { until } from './sim-cluster.js';

class FlakyStore implements StateStore {
  readonly description = 'flaky test store';
  down = true;
  attempts = 0;
  saved: StoredState[] = [];
  async load(): Promise<StoredState | undefined> {
    return undefined;
  }
  async save(state: StoredState): Promise<void> {
    this.attempts++;
    if (this.down) throw new StoreUnavailable('etcd is unreachable: test');
    this.saved.push(structuredClone(state));
  }
}

async function controller(store: StateStore, role?: 'MASTER') {
  const topology = await loadTopology(join(repoRoot(), 'topologies', 'line-3.json'));
  return new Controller(topology, {
    ofListen: [], logger: pino({ level: 'silent' }), store, saveRetry: { initialMs: 10, maxMs: 40 },
    ...(role ? { role: { role, generationId: 1n } } : {}),
  });
}

const moved = { name: 'c1', mac: '02:00:00:00:00:01', ip: '192.168.200.101', node: 'h2', ofport: 41, source: 'api' as const };

t.test('a failed save is retried with backoff until the store returns, with no further change', async (t) => {
  const store = new FlakyStore();
  const c = await controller(store);
  t.teardown(() => c.stop());
  c.locations.set(moved);
  await c.saveState();
  t.equal(c.storeHealthy, false, 'the first save failed');
  await until('five retries', () => store.attempts >= 6);
  t.same(c.saveRetryDelays.slice(0, 5), [10, 20, 40, 40, 40], 'the delay doubles up to the cap');
  t.equal(store.saved.length, 0);
  store.down = false;
  await until('saved once the store is back', () => store.saved.length > 0);
  t.equal(c.storeHealthy, true);
  t.equal(c.lastSaveError, undefined);
  t.match(store.saved.at(-1)!.locations, [{ name: 'c1', node: 'h2', ofport: 41 }], 'the change made while the store was away');
  const after = store.attempts;
  await new Promise((r) => setTimeout(r, 100)); // several retry periods: none may come
  t.equal(store.attempts, after, 'no retries after a success');
});

t.test('no retries once the controller is not in charge, nor after stop', async (t) => {
  const store = new FlakyStore();
  const c = await controller(store, 'MASTER');
  c.locations.set(moved);
  await c.saveState();
  await until('a retry', () => store.attempts >= 2);
  await c.assumeRole('SLAVE', 2n); // deposed: the new master owns the shared state
  const asSlave = store.attempts;
  await new Promise((r) => setTimeout(r, 150));
  t.ok(store.attempts <= asSlave + 1, `at most the retry already under way (${store.attempts - asSlave})`);
  const settled = store.attempts;
  await new Promise((r) => setTimeout(r, 150));
  t.equal(store.attempts, settled, 'a slave does not retry');

  const other = new FlakyStore();
  const d = await controller(other);
  d.locations.set(moved);
  await d.saveState();
  await d.stop(); // its own last save fails too
  const stopped = other.attempts;
  await new Promise((r) => setTimeout(r, 150));
  t.equal(other.attempts, stopped, 'a stopped controller does not retry');
});
