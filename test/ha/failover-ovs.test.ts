/**
 * Two controller members (separate processes) on a real etcd and real Open vSwitch (the
 * embedded testbed, three nodes over VXLAN, fail_mode=secure, each bridge with both members as
 * controller targets): kill -9 the master while containers ping each other every 10 ms; the
 * follower becomes master on every switch, nothing is lost and no flow is deleted or re-added.
 */
import t from 'tap';
import { Overlay } from '../../testbed/workload/overlay.js';
import { startVino, type VinoProcess } from '../../testbed/workload/vino.js';
import { freePort } from '../../testbed/workload/processes.js';
import { startEtcd } from '../../testbed/etcd.js';

interface HaStatus { member: string; role: 'MASTER' | 'SLAVE'; leader: { member: string; generationId: string } | null }

t.test('kill -9 the master with traffic running: no loss, no flow churn, follower is master everywhere', { timeout: 240_000 }, async (t) => {
  const etcd = await startEtcd({ name: 'ha-ovs' });
  const ov = await Overlay.create('line-3.json');
  const procs: VinoProcess[] = [];
  t.teardown(async () => {
    for (const p of procs) await p.stop().catch(() => {});
    await ov.down();
    await etcd.stop();
  });
  const portB = await freePort(ov.controllerHost);
  const nodes = Object.keys(ov.topology.nodes);
  const member = (name: string, ofPort: number) => startVino({
    topologyFile: ov.topologyFile, ofHost: ov.controllerHost, ofPort, stateFile: ov.file(`unused-${name}`),
    logFile: ov.file(`vino-${name}.log`), expectSwitches: 0, logLevel: process.env.DEBUG_HA ? 'debug' : 'info', cluster: { etcd: etcd.endpoints, member: name },
  });
  const a = await member('a', ov.controllerPort);
  procs.push(a);
  const b = await member('b', portB);
  procs.push(b);
  const ha = async (p: VinoProcess) => (await p.api.call<HaStatus>('GET', '/api/v1/ha')).body;
  t.equal((await ha(a)).role, 'MASTER');
  t.equal((await ha(b)).role, 'SLAVE');

  await ov.provision([`tcp:${ov.controllerHost}:${portB}`]);
  await ov.addContainers();
  const roles = async () => {
    const out = new Map<string, string>();
    for (const n of nodes) {
      const rows = await ov.vsctl(n, '--format=csv', '--no-headings', '--columns=target,role', 'list', 'controller');
      for (const line of rows.split('\n')) {
        const [target, role] = line.split(',');
        if (target) out.set(`${n} ${target.replace(/"/g, '')}`, role ?? '');
      }
    }
    return out;
  };
  const bTarget = `tcp:${ov.controllerHost}:${portB}`;
  const everyRole = async (target: string, role: string) => [...(await roles())].filter(([k]) => k.endsWith(` ${target}`)).every(([, r]) => r === role);
  for (let i = 0; i < 150 && !(await everyRole(ov.controllerTarget, 'master')); i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(await everyRole(ov.controllerTarget, 'master'), 'a is master on every bridge');
  t.ok(await everyRole(bTarget, 'slave'), 'b is slave on every bridge');

  const [c1, c2] = Object.keys(ov.topology.containers) as [string, string];
  const ip2 = ov.topology.containers[c2]!.ip;
  const ping = async (count: number, interval: string) =>
    (await ov.bed.execInContainer(c1, ['ping', '-n', '-q', '-c', String(count), '-i', interval, '-W', '1', ip2]).catch((e: Error & { stdout?: string }) => ({ stdout: e.stdout ?? e.message }))).stdout;
  let out = '';
  for (let i = 0; i < 50 && !/ 0% packet loss/.test(out); i++) out = await ping(1, '0.2');
  t.match(out, / 0% packet loss/, 'forwarding through a\'s flows');

  const before = await flowDurations(ov);
  const running = ping(400, '0.01');
  await new Promise((r) => setTimeout(r, 800));
  a.child.proc.kill('SIGKILL');
  await a.child.exited;
  let promoted = false;
  for (let i = 0; i < 100 && !promoted; i++) {
    promoted = (await ha(b)).role === 'MASTER' && (await everyRole(bTarget, 'master'));
    if (!promoted) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(promoted, 'b is master on every bridge after the kill');
  const during = await running;
  t.match(during, /400 packets transmitted, 400 received, 0% packet loss/, `no probe lost (${during.split('\n').find((l) => l.includes('transmitted'))})`);
  const after = await flowDurations(ov);
  let reset = 0;
  for (const [key, age] of before) if ((after.get(key) ?? -1) < age) reset++;
  if (reset > 0 && process.env.DEBUG_HA) console.error(b.child.tail(60), [...before].filter(([k, age]) => (after.get(k) ?? -1) < age).map(([k]) => k));
  t.equal(reset, 0, `no flow deleted or re-added by the takeover (${before.size} flows)`);
  t.match(await ping(5, '0.05'), / 0% packet loss/, 'forwarding after the failover');
});

/** Age in seconds of every flow of every bridge, by node + cookie + match. */
async function flowDurations(ov: Overlay): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const node of Object.keys(ov.topology.nodes)) {
    for (const line of (await ov.ofctl(node, 'dump-flows')).split('\n')) {
      const m = /cookie=(0x[0-9a-f]+), duration=([\d.]+)s, table=(\d+),.*?priority=(\d+)(,[^ ]*)? /.exec(line);
      if (m) out.set(`${node} ${m[1]} ${m[3]} ${m[4]} ${m[5] ?? ''}`, Number(m[2]));
    }
  }
  return out;
}
