/**
 * Switching the overlay's bridges between the compared forwarding schemes, on every node:
 *   - learning switches: no controller, fail_mode standalone, one flow `priority=0 NORMAL`
 *     (OVS's own MAC learning, the paper's "learning switches");
 *   - a controller (os-ken or vino): fail_mode secure, one Controller row with a short
 *     reconnect backoff, empty tables so the controller starts from nothing of another scheme.
 * Also: forgetting what was learned (MAC tables, neighbour caches) between runs.
 */
import type { Overlay } from '../../testbed/workload/overlay.js';
import { sleep } from '../../testbed/workload/processes.js';

/** Empties a bridge's tables (flows, groups, meters) so the next scheme starts clean. */
async function clearTables(ov: Overlay, node: string): Promise<void> {
  await ov.ofctl(node, 'del-flows');
  await ov.ofctl(node, 'del-groups');
  await ov.ofctl(node, 'del-meters');
}

export async function useLearningSwitches(ov: Overlay): Promise<void> {
  await ov.everyNode(async (node) => {
    const br = ov.bridge(node);
    await ov.vsctl(node, '--', 'del-controller', br, '--', 'set-fail-mode', br, 'standalone');
    await clearTables(ov, node);
    await ov.ofctl(node, 'add-flow', 'priority=0,actions=NORMAL');
    await ov.appctl(node, 'fdb/flush', br);
  });
}

/**
 * Points every bridge at `target` (e.g. tcp:10.250.1.1:6633) after emptying its tables.
 * max_backoff 1 s: a bridge whose controller is not up yet retries every second, not every 8.
 */
export async function useController(ov: Overlay, target: string): Promise<void> {
  await ov.everyNode(async (node) => {
    const br = ov.bridge(node);
    await ov.vsctl(node, '--', 'del-controller', br, '--', 'set-fail-mode', br, 'secure');
    await clearTables(ov, node);
    await ov.vsctl(node, '--', '--id=@c', 'create', 'Controller', `target="${target}"`, 'max_backoff=1000', '--', 'set', 'Bridge', br, 'controller=@c');
  });
}

/** Waits until every bridge reports its controller connection up (OVSDB Controller.is_connected). */
export async function waitControllersConnected(ov: Overlay, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing: string[] = [];
  while (Date.now() < deadline) {
    const states = await ov.everyNode(async (node) => ({ node, up: (await ov.vsctl(node, '--bare', '--columns=is_connected', 'list', 'Controller')) === 'true' }));
    missing = states.filter((s) => !s.up).map((s) => s.node);
    if (missing.length === 0) return;
    await sleep(200);
  }
  throw new Error(`bridges not connected to their controller within ${timeoutMs} ms: ${missing.join(', ')}`);
}

/** Forgets the MAC tables of every bridge (learning switches). */
export async function flushMacTables(ov: Overlay): Promise<void> {
  await ov.everyNode((node) => ov.appctl(node, 'fdb/flush', ov.bridge(node)));
}

/** Forgets the containers' neighbour (ARP) caches, so every run resolves addresses afresh. */
export async function flushNeighbours(ov: Overlay, containers: readonly string[]): Promise<void> {
  await Promise.all(containers.map((c) => ov.bed.execInContainer(c, ['ip', 'neigh', 'flush', 'all'])));
}

/** `ovs-ofctl dump-flows` of every bridge, for evidence when forwarding misbehaves. */
export async function dumpFlows(ov: Overlay): Promise<string> {
  const parts = await ov.everyNode(async (node) => {
    try {
      return `--- ${node} (${ov.bridge(node)})\n${await ov.ofctl(node, 'dump-flows')}`;
    } catch (err) {
      return `--- ${node}: ${(err as Error).message}`;
    }
  });
  return parts.join('\n');
}

/**
 * What every bridge and container holds now: flows, MAC tables, ports, neighbour caches. Attached
 * to failures so they can be read without re-running.
 */
export async function diagnose(ov: Overlay, containers: readonly string[]): Promise<string> {
  const safe = async (what: string, f: () => Promise<string>) => {
    try {
      return `--- ${what}\n${(await f()).trim()}`;
    } catch (err) {
      return `--- ${what}: ${(err as Error).message}`;
    }
  };
  const parts: string[] = [];
  for (const node of Object.keys(ov.topology.nodes)) {
    const br = ov.bridge(node);
    parts.push(
      await safe(`${node}: ovs-ofctl -O OpenFlow13 dump-flows ${br}`, () => ov.ofctl(node, 'dump-flows')),
      await safe(`${node}: ovs-appctl fdb/show ${br}`, () => ov.appctl(node, 'fdb/show', br)),
      await safe(`${node}: ovs-ofctl -O OpenFlow13 dump-ports-desc ${br}`, () => ov.ofctl(node, 'dump-ports-desc')),
    );
  }
  for (const c of containers) {
    parts.push(
      await safe(`${c}: ip neigh`, async () => (await ov.bed.execInContainer(c, ['ip', 'neigh'])).stdout),
      await safe(`${c}: ip -s link`, async () => (await ov.bed.execInContainer(c, ['ip', '-s', 'link'])).stdout),
    );
  }
  return parts.join('\n');
}
