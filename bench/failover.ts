/**
 * `npm run bench:failover` (root): a controller cluster of two members (processes) on a real
 * etcd and the embedded testbed (line-3: three OVS bridges over VXLAN, both members as
 * controller targets of every bridge). Each run kills -9 the master while one container pings
 * another every 10 ms across VXLAN, and measures the probes lost and the time from the kill
 * until the surviving member holds MASTER on every bridge (its own "took over" timestamp: role
 * requests confirmed on every switch). A fresh member replaces the dead one before the next
 * run. Then the step "migration committed after failover": a migration of c1 to the other host
 * is prepared on the master, the master is killed -9 while c2 pings c1 every 10 ms, and on the
 * new master the move is frozen, made (testbed/workload/emulate.ts) and committed: time from the
 * kill to committed, probes lost across it. Then, on the same testbed, the same kill -9 of a
 * single controller (no etcd) followed by its restart, for comparison.
 *
 * The follower notices the death through its liveness stream to the master's API and, on a
 * refused fresh connection, revokes the dead master's lease (controller/ha/liveness.ts): the
 * failover no longer waits for the lease TTL (1 s, the least etcd grants with
 * --heartbeat-interval 50 --election-timeout 500, plus up to 0.5 s of etcd's expiry scan), which
 * stays the backstop when the death cannot be proven (host down, partition). The summary also
 * says how many takeovers came from a revocation. Options: --runs N (10) --copy-ms MS (100: the
 * emulated migration's copy time) --keep DIR (copy the members' logs, at level info, there).
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Overlay } from '../testbed/workload/overlay.js';
import { freePort, killAllChildren } from '../testbed/workload/processes.js';
import { startVino, waitConnected, type VinoProcess } from '../testbed/workload/vino.js';
import { startEtcd } from '../testbed/etcd.js';
import { emulateMigration } from '../testbed/workload/emulate.js';
import { commitOrJoin } from '../testbed/workload/vino.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, 'copy-ms': { type: 'string', default: '100' }, keep: { type: 'string' } }, strict: true });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs: expected a positive whole number, got "${values.runs}"`);
const copyMs = Number(values['copy-ms']);
if (!Number.isInteger(copyMs) || copyMs < 0) throw new Error(`--copy-ms: expected a whole number of ms >= 0, got "${values['copy-ms']}"`);

interface HaStatus { role: 'MASTER' | 'SLAVE'; masterSince: string | null; revocations?: number }
interface Figure { lost: number; sent: number; masterMs: number | null; committedMs?: number | null; revoked?: boolean }

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
        logFile: ov.file(`vino-${name}.log`), expectSwitches: 0, logLevel: values.keep ? 'info' : 'warn', cluster: { etcd: etcd.endpoints, member: name },
      });
      procs.add(p);
      return p;
    };
    const ha = async (p: VinoProcess) => (await p.api.call<HaStatus>('GET', '/api/v1/ha')).body;
    const [c1, c2] = Object.keys(ov.topology.containers) as [string, string];
    const ip2 = ov.topology.containers[c2]!.ip;
    const hosts = Object.values(ov.topology.nodes).filter((n) => n.kind === 'host').map((n) => n.name);
    const ping = async (count: number, interval: string, from = c1, to = ip2): Promise<{ sent: number; received: number }> => {
      const out = (await ov.bed.execInContainer(from, ['ping', '-n', '-q', '-c', String(count), '-i', interval, '-W', '1', to]).catch((e: Error & { stdout?: string }) => ({ stdout: e.stdout ?? e.message }))).stdout;
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

    /**
     * Kills -9 the master while `from` pings `to` every 10 ms; returns the figures once the
     * follower holds MASTER on every switch (and `then` ran on it), and replaces the dead member.
     */
    const failover = async (from: string, to: string, then?: (newMaster: VinoProcess) => Promise<void>): Promise<Figure> => {
      const probes = ping(300, '0.01', from, to);
      await sleep(700);
      const revokedBefore = (await ha(follower)).revocations ?? 0;
      const killedAt = Date.now();
      master.child.proc.kill('SIGKILL');
      await master.child.exited;
      procs.delete(master);
      let masterMs: number | null = null;
      let s: HaStatus | undefined;
      for (let i = 0; i < 500 && masterMs === null; i++) {
        s = await ha(follower).catch(() => undefined);
        if (s?.role === 'MASTER' && s.masterSince) masterMs = Date.parse(s.masterSince) - killedAt;
        else await sleep(10);
      }
      let committedMs: number | null | undefined;
      if (then) {
        committedMs = null;
        if (masterMs !== null) {
          await then(follower);
          committedMs = Date.now() - killedAt;
        }
      }
      const p = await probes;
      // The dead member's OpenFlow port gets a fresh member, which joins as follower.
      const freedPort = Number(master.ofListen.split(':').pop());
      master = follower;
      follower = await member(freedPort);
      await waitConnected(follower, nodes, 30_000);
      await sleep(300);
      return { lost: p.sent - p.received, sent: p.sent, masterMs, ...(committedMs !== undefined ? { committedMs } : {}), revoked: (s?.revocations ?? 0) > revokedBefore };
    };

    const cluster: Figure[] = [];
    for (let r = 0; r < runs; r++) {
      const f = await failover(c1, ip2);
      cluster.push(f);
      console.log(`failover run ${r + 1}: ${f.lost}/${f.sent} probes lost, MASTER on every switch ${f.masterMs ?? 'never'} ms after the kill (${f.revoked ? 'dead master\'s lease revoked' : 'lease ran out'})`);
    }

    // Migration committed after failover: prepared on the master, committed on its successor.
    const mover = c1;
    const moverIp = ov.topology.containers[mover]!.ip;
    const service = await ov.startServer(mover, { http: 18080, udp: 18081 });
    const migrated: Figure[] = [];
    try {
      for (let r = 0; r < runs; r++) {
        const at = ov.where(mover);
        const away = hosts.find((h) => h !== at.node)!;
        const prepared = await master.api.prepare(mover, { switch: away, port: at.portName });
        for (let i = 0; i < 200 && (await follower.api.migration(prepared.id).catch(() => undefined))?.state !== 'prepared'; i++) await sleep(20);
        const f = await failover(c2, moverIp, async (next) => {
          const emu = await emulateMigration(ov.bed, mover, away, { copyMs, beforeUnplug: async () => { await next.api.freeze(prepared.id); } });
          const { migration } = await commitOrJoin(next.api, prepared.id);
          if (migration.state !== 'committed') throw new Error(`migration ${prepared.id} of ${mover} to ${emu.to.node} ended ${migration.state} on the new master: ${migration.error ?? ''}`);
        });
        migrated.push(f);
        console.log(`migration run ${r + 1}: ${mover} ${at.node} → ${away} prepared before the kill, committed on the new master ${f.committedMs ?? 'never'} ms after the kill (MASTER at ${f.masterMs ?? 'never'} ms), ${f.lost}/${f.sent} probes ${c2} → ${mover} lost`);
      }
      // Home again for the single-controller runs, which start from the topology's locations.
      const home = ov.topology.containers[mover]!.node;
      const at = ov.where(mover);
      if (at.node !== home) {
        const back = await master.api.prepare(mover, { switch: home, port: at.portName });
        await ov.bed.moveContainer(mover, home, { announce: false });
        await commitOrJoin(master.api, back.id);
      }
    } finally {
      service.kill('SIGKILL');
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

    const summary = (label: string, f: Figure[], what: string, pick: (x: Figure) => number | null | undefined = (x) => x.masterMs) => {
      const ms = f.map(pick).filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
      const lost = f.reduce((n, x) => n + x.lost, 0);
      const sent = f.reduce((n, x) => n + x.sent, 0);
      // The median of an even count is the mean of the middle two.
      const mid = ms.length === 0 ? '-' : ms.length % 2 ? ms[(ms.length - 1) / 2]! : Math.round((ms[ms.length / 2 - 1]! + ms[ms.length / 2]!) / 2);
      const revoked = f.filter((x) => x.revoked).length;
      console.log(`${label.padEnd(44)} probes lost ${lost}/${sent} (goal 0); ${what}: median ${mid} ms, max ${ms.at(-1) ?? '-'} ms (${ms.length}/${f.length} runs${f.some((x) => x.revoked !== undefined) ? `, ${revoked} by lease revocation` : ''})`);
    };
    console.log(`\n${runs} runs, line-3 on the embedded testbed, 10 ms ping probes across VXLAN`);
    summary(`2 members, kill -9 the master (${c1} → ${c2})`, cluster, 'MASTER on every switch after (goal ≤ 1000 ms)');
    summary(`  + migration of ${mover} (${c2} → ${mover})`, migrated, 'MASTER on every switch after');
    summary('    prepared before, committed after', migrated, `committed after the kill (copy ${copyMs} ms)`, (x) => x.committedMs);
    summary('1 controller, kill -9 + restart', single, 'controller back with every switch');
  } finally {
    for (const p of procs) await p.stop().catch(() => {});
    if (values.keep) {
      mkdirSync(values.keep, { recursive: true });
      for (const f of readdirSync(ov.file(''))) if (/^vino-.*\.log$/.test(f)) copyFileSync(ov.file(f), join(values.keep, f));
    }
    await ov.down().catch(() => {});
    await etcd.stop();
    killAllChildren();
  }
}

main().catch((err: Error) => {
  console.error(`bench:failover: ${err.stack ?? err.message}`);
  process.exitCode = 1;
});
