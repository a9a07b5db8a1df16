/**
 * Adopting an overlay vino did not build: on the embedded testbed the bridges, VXLAN ports and
 * containers of line-3 are made by hand with ovs-vsctl, with tunnel names of their own (named in
 * the topology with switch_tunnel / host_tunnel), OVS-chosen datapath ids and arbitrary ofports.
 * The controller serves it as it is: containers reach each other and a migration works.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { startApp, type RunningApp } from '../../controller/app.js';
import { NetnsProvider } from '../../controller/provision/netns.js';
import { resolveTopology } from '../../src/topology/load.js';
import { Overlay, topologyPath } from '../../testbed/workload/overlay.js';

type Doc = { links: Record<string, unknown>[] };

t.test('an overlay built by hand with arbitrary port numbers works as it is', { timeout: 240_000 }, async (t) => {
  const ov = await Overlay.create('line-3.json');
  let app: RunningApp | undefined;
  t.teardown(async () => {
    await app?.stop();
    await ov.down();
  });
  const doc = JSON.parse(readFileSync(topologyPath('line-3.json'), 'utf8')) as Doc;
  doc.links[0] = { ...doc.links[0], switch_tunnel: 'tun-east', host_tunnel: 'uplink' };
  doc.links[1] = { ...doc.links[1], switch_tunnel: 'tun-west', host_tunnel: 'uplink' };
  const topology = resolveTopology(doc);
  app = await startApp({
    topology, ofListen: [{ host: ov.controllerHost, port: ov.controllerPort }], apiListen: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: process.env.VINO_TEST_LOG ?? 'silent' }), stateFile: ov.file('state.json'),
  });
  const api = `http://127.0.0.1:${app.api!.port}`;
  const underlay = new NetnsProvider(ov.bed);

  // By hand: no datapath id (OVS picks one; the controller knows the bridge by name), no vino
  // external_ids, port numbers that have nothing to do with vino's plan.
  const handOfport: Record<string, number> = { 'sw1/tun-east': 7, 'sw1/tun-west': 9, 'h1/uplink': 3, 'h2/uplink': 5 };
  for (const node of Object.values(topology.nodes)) {
    const br = node.bridge.name;
    const args = ['add-br', br, '--', 'set', 'Bridge', br, 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow13', 'other-config:disable-in-band=true'];
    for (const p of node.bridge.ports) {
      if (p.kind !== 'tunnel') continue;
      args.push('--', 'add-port', br, p.name, '--', 'set', 'Interface', p.name, 'type=vxlan',
        `options:remote_ip=${underlay.underlayIp(p.peer)}`, `options:key=${p.vni}`, `ofport_request=${handOfport[`${node.name}/${p.name}`]}`);
    }
    await ov.vsctl(node.name, ...args);
    await ov.vsctl(node.name, 'set-controller', br, ov.controllerTarget);
  }
  for (const node of Object.values(topology.nodes)) {
    for (const p of node.bridge.ports) {
      if (p.kind !== 'tunnel') continue;
      t.not(p.ofport, handOfport[`${node.name}/${p.name}`], `${node.name} ${p.name}: the plan says ${p.ofport}, the overlay has ${handOfport[`${node.name}/${p.name}`]}`);
    }
  }
  const c1 = topology.containers['c1']!;
  const c2 = topology.containers['c2']!;
  await ov.bed.addContainer('h1', { name: 'c1', mac: c1.mac, ip: c1.ip, prefixLength: 24, portName: c1.port, ofport: 21, announce: false });
  await ov.bed.addContainer('h2', { name: 'c2', mac: c2.mac, ip: c2.ip, prefixLength: 24, portName: c2.port, ofport: 22, announce: false });
  for (let i = 0; i < 300 && app.controller.switchInfo().some((s) => !s.connected); i++) await new Promise((r) => setTimeout(r, 100));
  t.ok(app.controller.switchInfo().every((s) => s.connected), 'the hand-built bridges are served as topology nodes');
  t.equal(app.controller.unknownSessions.size, 0, 'no bridge is left to the learning fallback');

  const ping = async (from: string, to: string, count = 1) =>
    (await ov.bed.execInContainer(from, ['ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '1', to]).catch((e: Error & { stdout?: string }) => ({ stdout: e.stdout ?? e.message }))).stdout;
  let out = '';
  for (let i = 0; i < 50 && !/ 0% packet loss/.test(out); i++) out = await ping('c1', c2.ip);
  t.match(out, / 0% packet loss/, 'c1 reaches c2 across the hand-built tunnels');
  t.equal(app.controller.locations.get('c1')!.ofport, 21, 'c1 is known at the number OVS gave its port');
  const sw1Flows = await ov.ofctl('sw1', 'dump-flows', '--no-stats');
  t.match(sw1Flows, /output:(7|9)\b/, 'sw1 forwards over the hand-numbered tunnels');

  // A migration of c1 to h2, to a port numbered 33 there.
  const prep = await fetch(`${api}/api/v1/migrations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ container: 'c1', to: { switch: 'h2', port: c1.port } }) });
  t.equal(prep.status, 201, 'prepared');
  const m = await prep.json() as { id: string };
  await ov.bed.moveContainer('c1', 'h2', { ofport: 33, announce: false });
  const commit = await fetch(`${api}/api/v1/migrations/${m.id}/commit`, { method: 'POST' });
  t.equal(commit.status, 200, 'committed');
  const committed = await commit.json() as { state: string; to: { ofport: number } };
  t.match(committed, { state: 'committed', to: { ofport: 33 } }, 'committed to the port OVS numbered 33');
  t.match(await ping('c2', c1.ip, 3), / 0% packet loss/, 'c2 reaches c1 at h2');
});
