/**
 * `npm run bench:failover` (root): a controller cluster of two members (processes) on a real
 * etcd and the embedded testbed (line-3: three OVS bridges over VXLAN, both members as
 * controller targets of every bridge). Each run kills -9 the master while one container pings
 * another every 10 ms across VXLAN, and measures the probes lost and the time from the kill
 * until the surviving member holds MASTER on every bridge (its own "took over" timestamp: role
 * requests confirmed on every switch). A fresh member replaces the dead one before the next
 * run. Then, on the same testbed, the same kill -9 of a single controller (no etcd) followed
 * by its restart, for comparison.
 *
 * The floor of the failover time is the etcd lease TTL (1 s, the least etcd grants with
 * --heartbeat-interval 50 --election-timeout 500; its defaults make it 2 s) plus up to 0.5 s
 * for etcd to notice the expiry. Options: --runs N (10).
 */
import { parseArgs } from 'node:util';
import { Overlay } from '../testbed/workload/overlay.js';
import { freePort, killAllChildren } from '../testbed/workload/processes.js';
import { startVino, waitConnected, type VinoProcess } from '../testbed/workload/vino.js';
import { startEtcd } from '../testbed/etcd.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive whole number, got "${values.runs}"`);

interface HaStatus { role: 'MASTER' | 'SLAVE'; masterSince: string | null }
interface Figure { lost: number; sent: number; masterMs: number | null }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const etcd = await startEtcd({ name: 'bench-failover' });
  const ov = await Overlay.create('line-3.json');
  const procs = new Set<VinoProcess>();
  try {
    const ports = [ov.controllerPort, await freePort(ov.controllerHost)];
    const nodes = Object.keys(ov.topology.nodes).length;
    let serial = 0;
    const member = async (port: number) => {
      const name = `m${serial++}`;
      const p = await startVino({
        topologyFile: ov.topologyFile, ofHost: ov.controllerHost, ofPort: port, stateFile: ov.file('unused'),
        logFile: ov.file(`vino-${name}.log`), expectSwitches: 0, logLevel: 'warn', cluster: { etcd: etcd.endpoints, member: name },
      });
      procs.add(p);
      return p;
    };
    const ha = async (p: VinoProcess) => (await p.api.call<HaStatus>('GET', '/api/v1/ha')).body;
    const [c1, c2] = Object.keys(ov.topology.containers) as [string, string];
    const ip2 = ov.topology.containers[c2]!.ip;
    const ping = async (count: number, interval: string): Promise<{ sent: number; received: number }> => {
      const out = (await ov.bed.execInContainer(c1, ['ping', '-n', '-q', '-c', String(count), '-i', interval, '-W', '1', ip2]).catch((e: Error & { stdout?: string }) => ({ stdout: e.stdout ?? e.message }))).stdout;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      return { sent: Number(m?.[1] ?? count), received: Number(m?.[2] ?? 0) };
    };
    const reachable = async () => {
      for (let i = 0; i < 100; i++) if ((await ping(1, '0.2')).received === 1) return;
      throw new Error('the containers do not reach each other');
    };

    let master = await member(ports[0]!);
    let follower = await member(ports[1]!);
    await ov.provision(ports.slice(1).map((p) => `tcp:${ov.controllerHost}:${p}`));
    await ov.addContainers();
    await waitConnected(master, nodes, 30_000);
    await waitConnected(follower, nodes, 30_000);
    await reachable();

    const cluster: Figure[] = [];
    for (let r = 0; r < runs; r++) {
      const probes = ping(300, '0.01');
      await sleep(700);
      const killedAt = Date.now();
      master.child.proc.kill('SIGKILL');
      await master.child.exited;
      procs.delete(master);
      let masterMs: number | null = null;
      for (let i = 0; i < 200 && masterMs === null; i++) {
        const s = await ha(follower).catch(() => undefined);
        if (s?.role === 'MASTER' && s.masterSince) masterMs = Date.parse(s.masterSince) - killedAt;
        else await sleep(20);
      }
      const p = await probes;
      cluster.push({ lost: p.sent - p.received, sent: p.sent, masterMs });
      console.log(`failover run ${r + 1}: ${p.sent - p.received}/${p.sent} probes lost, MASTER on every switch ${masterMs ?? 'never'} ms after the kill`);
      // The dead member's OpenFlow port gets a fresh member, which joins as follower.
      const freedPort = Number(master.ofListen.split(':').pop());
      master = follower;
      follower = await member(freedPort);
      await waitConnected(follower, nodes, 30_000);
      await sleep(300);
    }
    for (const p of procs) await p.stop();
    procs.clear();

    // Single controller, no etcd: kill -9 and restart on the primary target.
    const single: Figure[] = [];
    const solo = () => startVino({ topologyFile: ov.topologyFile, ofHost: ov.controllerHost, ofPort: ports[0]!, stateFile: ov.file('single-state.json'), logFile: ov.file('vino-single.log'), expectSwitches: nodes, logLevel: 'warn' });
    let alone = await solo();
    procs.add(alone);
    await reachable();
    for (let r = 0; r < runs; r++) {
      const probes = ping(300, '0.01');
      await sleep(700);
      const killedAt = Date.now();
      alone.child.proc.kill('SIGKILL');
      await alone.child.exited;
      procs.delete(alone);
      alone = await solo();
      procs.add(alone);
      const backMs = Date.now() - killedAt;
      const p = await probes;
      single.push({ lost: p.sent - p.received, sent: p.sent, masterMs: backMs });
      console.log(`single restart run ${r + 1}: ${p.sent - p.received}/${p.sent} probes lost, every switch reconnected ${backMs} ms after the kill`);
    }

    const summary = (label: string, f: Figure[], what: string) => {
      const ms = f.map((x) => x.masterMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
      const lost = f.reduce((n, x) => n + x.lost, 0);
      const sent = f.reduce((n, x) => n + x.sent, 0);
      console.log(`${label.padEnd(34)} probes lost ${lost}/${sent} (goal 0); ${what}: median ${ms[Math.floor(ms.length / 2)] ?? '-'} ms, max ${ms.at(-1) ?? '-'} ms (${ms.length}/${f.length} runs)`);
    };
    console.log(`\n${runs} runs, line-3 on the embedded testbed, 10 ms ping probes ${c1} → ${c2} across VXLAN`);
    summary('2 members, kill -9 the master', cluster, 'MASTER on every switch after (goal ≤ 1000 ms)');
    summary('1 controller, kill -9 + restart', single, 'controller back with every switch');
  } finally {
    for (const p of procs) await p.stop().catch(() => {});
    await ov.down().catch(() => {});
    await etcd.stop();
    killAllChildren();
  }
}

main().catch((err: Error) => {
  console.error(`bench:failover: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
