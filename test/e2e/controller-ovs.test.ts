/**
 * The controller against real Open vSwitch on the embedded testbed (three nodes over VXLAN,
 * userspace datapath, fail_mode=secure): containers reach each other through our flows only,
 * a controller restart with traffic running loses nothing and changes no flow, and a switch
 * that lost its flows (as after an ovs-vswitchd restart) gets them back on reconnect.
 */
import t from 'tap';
import { Overlay } from '../../testbed/workload/overlay.js';
import { startVino, waitConnected, type VinoProcess } from '../../testbed/workload/vino.js';

const TOPOLOGY = 'line-3.json';

t.test('real OVS overlay forwards through proactive flows only', { timeout: 240_000 }, async (t) => {
  const ov = await Overlay.create(TOPOLOGY);
  let vino: VinoProcess | undefined;
  t.teardown(async () => {
    await vino?.stop();
    await ov.down();
  });
  const start = async () => {
    const proc = await startVino({
      topologyFile: ov.topologyFile, ofHost: ov.controllerHost, ofPort: ov.controllerPort,
      stateFile: ov.file('state.json'), logFile: ov.file(`vino-${Date.now()}.log`), expectSwitches: 0, logLevel: 'info',
    });
    return proc;
  };
  vino = await start();
  await ov.provision();
  await ov.addContainers();
  await waitConnected(vino, Object.keys(ov.topology.nodes).length, 30_000);

  const [c1, c2] = Object.keys(ov.topology.containers) as [string, string];
  const ip2 = ov.topology.containers[c2]!.ip;
  const ping = async (count: number, interval = '0.2') =>
    (await ov.bed.execInContainer(c1, ['ping', '-n', '-q', '-c', String(count), '-i', interval, '-W', '1', ip2]).catch((e: Error & { stdout?: string }) => ({ stdout: e.stdout ?? e.message }))).stdout;

  // Wait for the flows to be in place (the first sync follows each switch's connection).
  let out = '';
  for (let i = 0; i < 50; i++) {
    out = await ping(1);
    if (/ 0% packet loss/.test(out)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.match(out, / 0% packet loss/, `${c1} reaches ${c2} across VXLAN`);

  const flows = await ov.everyNode((n) => ov.ofctl(n, 'dump-flows'));
  for (const f of flows) {
    t.notMatch(f, /NORMAL/i, 'no NORMAL action anywhere');
    t.match(f, /cookie=0x5649/, 'our flows (cookie 0x5649...) are installed');
  }
  const fail = await ov.vsctl(Object.keys(ov.topology.nodes)[0]!, 'get-fail-mode', ov.bridge(Object.keys(ov.topology.nodes)[0]!));
  t.equal(fail, 'secure', 'fail_mode=secure: nothing forwards without our flows');

  // Controller restart with traffic running: zero loss, and no flow deleted and re-added.
  const durationsBefore = await flowDurations(ov);
  const running = ping(300, '0.01');
  await new Promise((r) => setTimeout(r, 800));
  await vino.stop();
  vino = undefined;
  vino = await start();
  await waitConnected(vino, Object.keys(ov.topology.nodes).length, 30_000);
  const during = await running;
  t.match(during, /300 packets transmitted, 300 received, 0% packet loss/, `no packet lost across kill + restart (${during.split('\n').find((l) => l.includes('transmitted'))})`);
  const durationsAfter = await flowDurations(ov);
  let reset = 0;
  for (const [key, before] of durationsBefore) {
    const after = durationsAfter.get(key);
    if (after === undefined || after < before) reset++;
  }
  t.equal(reset, 0, `every flow kept its age across the restart (${durationsBefore.size} flows)`);

  // A switch that lost all its flows (like an ovs-vswitchd restart) gets them back on reconnect.
  const victim = ov.where(c2).node;
  const br = ov.bridge(victim);
  const target = await ov.vsctl(victim, 'get-controller', br);
  await ov.vsctl(victim, 'del-controller', br);
  await ov.ofctl(victim, 'del-flows');
  t.match(await ping(2), /100% packet loss/, 'without flows the secure bridge drops everything');
  const reconnect = Date.now();
  await ov.vsctl(victim, 'set-controller', br, target);
  let restored = -1;
  for (let i = 0; i < 100; i++) {
    if (/ 0% packet loss/.test(await ping(1, '0.2'))) {
      restored = Date.now() - reconnect;
      break;
    }
  }
  t.ok(restored >= 0, `forwarding restored after the reconnect (${restored} ms, including OVS's reconnect backoff)`);
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
