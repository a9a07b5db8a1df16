/**
 * Flip latency on a whole topology: commit request → the last barrier reply of the
 * downstream-first flip, as the controller reports it (flipLatencyMs of the commit answer).
 * A container is moved back and forth between its host and the host farthest from it
 * (prepare → attach at the new place → commit); after each flip another container must reach
 * it (one ping), so a fast flip that breaks forwarding does not pass unnoticed.
 */
import type { ResolvedTopology } from '../../src/topology/types.js';
import { Overlay } from '../../testbed/workload/overlay.js';
import { monotonicMs } from '../../testbed/workload/processes.js';
import { startVino, waitConnected } from '../../testbed/workload/vino.js';

export interface FlipResult {
  topology: string;
  nodes: number;
  container: string;
  between: [string, string];
  /** Switch hops between the two hosts' switches. */
  hops: number;
  latenciesMs: number[];
  /** Commit API round trip as the orchestrator saw it. */
  commitCallMs: number[];
  /** Testbed start + provisioning (not part of the figure). */
  setupMs: number;
}

/** Hops between two hosts over the switch graph (host → its switch ... → other host's switch). */
export function hostDistance(t: ResolvedTopology, a: string, b: string): number {
  const sw = (h: string) => {
    const n = t.nodes[h]!;
    return n.kind === 'host' ? n.uplink.switch : n.name;
  };
  const from = sw(a);
  const to = sw(b);
  const dist = new Map<string, number>([[from, 0]]);
  const queue = [from];
  while (queue.length) {
    const s = queue.shift()!;
    for (const nb of t.switchGraph[s] ?? []) {
      if (!dist.has(nb.switch)) {
        dist.set(nb.switch, dist.get(s)! + 1);
        queue.push(nb.switch);
      }
    }
  }
  const d = dist.get(to);
  if (d === undefined) throw new Error(`${a} and ${b} are not connected`);
  return d + 2;
}

/** The container to move, its far destination and a container to ping it from. */
export function pickFlipCase(t: ResolvedTopology): { container: string; home: string; away: string; peer: string; hops: number } {
  const containers = Object.values(t.containers);
  const first = containers[0];
  if (!first) throw new Error(`topology "${t.name}" has no container to move`);
  const hosts = Object.values(t.nodes).filter((n) => n.kind === 'host' && n.name !== first.node).map((n) => n.name);
  if (hosts.length === 0) throw new Error(`topology "${t.name}" has no other host to move ${first.name} to`);
  let away = hosts[0]!;
  let hops = hostDistance(t, first.node, away);
  for (const h of hosts) {
    const d = hostDistance(t, first.node, h);
    if (d > hops) [away, hops] = [h, d];
  }
  const peer = containers.find((c) => c.name !== first.name && c.node !== first.node && c.node !== away) ?? containers.find((c) => c.name !== first.name);
  if (!peer) throw new Error(`topology "${t.name}" needs a second container to check reachability`);
  return { container: first.name, home: first.node, away, peer: peer.name, hops };
}

export async function measureFlips(topologyFile: string, runs: number, log: (line: string) => void): Promise<FlipResult> {
  const t0 = monotonicMs();
  const ov = await Overlay.create(topologyFile, { log });
  try {
    const c = pickFlipCase(ov.topology);
    const vino = await startVino({
      topologyFile: ov.topologyFile, ofHost: ov.controllerHost, ofPort: ov.controllerPort,
      stateFile: ov.file('vino-state.json'), logFile: ov.file('vino.log'), expectSwitches: 0, logLevel: 'warn',
    });
    try {
      await ov.provision();
      const nodes = Object.keys(ov.topology.nodes).length;
      await waitConnected(vino, nodes, 60_000);
      await ov.addContainers([c.container, c.peer]);
      const setupMs = monotonicMs() - t0;
      const ip = ov.topology.containers[c.container]!.ip;
      await ping(ov, c.peer, ip);
      const latenciesMs: number[] = [];
      const commitCallMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const to = i % 2 === 0 ? c.away : c.home;
        const m = await vino.api.prepare(c.container, { switch: to, port: ov.where(c.container).portName });
        await ov.bed.moveContainer(c.container, to, { announce: false });
        const at = monotonicMs();
        const done = await vino.api.commit(m.id);
        commitCallMs.push(monotonicMs() - at);
        if (done.state !== 'committed' || done.flipLatencyMs === null) throw new Error(`${ov.topology.name}: migration ${m.id} ended ${done.state}: ${done.error ?? ''}`);
        latenciesMs.push(done.flipLatencyMs);
        await ping(ov, c.peer, ip);
        log(`${ov.topology.name}: flip ${i + 1}/${runs} ${c.container} → ${to}: ${done.flipLatencyMs} ms`);
      }
      return { topology: ov.topology.name, nodes, container: c.container, between: [c.home, c.away], hops: c.hops, latenciesMs, commitCallMs, setupMs };
    } finally {
      await vino.stop();
    }
  } finally {
    await ov.down();
  }
}

async function ping(ov: Overlay, from: string, ip: string): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await ov.bed.execInContainer(from, ['ping', '-n', '-q', '-c', '1', '-W', '2', ip], { timeoutMs: 5000 });
      return;
    } catch (err) {
      last = (err as Error).message;
    }
  }
  throw new Error(`${ov.topology.name}: ${from} cannot reach ${ip} after the flip: ${last}`);
}
