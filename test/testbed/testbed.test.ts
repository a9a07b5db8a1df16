// The embedded testbed on real namespaces and real Open vSwitch (userspace datapath): one
// line-3 testbed for the whole file, taken down by the last test (and in t.teardown on failure).
import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { Testbed, up } from '../../testbed/index.js';
import { daemonCall } from '../../testbed/ovs.js';
import { OvsdbClient } from '../../src/ovsdb/index.js';
import type { ResolvedTopology } from '../../src/topology/types.js';
import { cleanEnv, leftoversOf, loadExample, nodeArgv, PID_SERVER, SINK, SOURCE, TCP_GET } from './helpers.js';

const execFileP = promisify(execFile);

const topology: ResolvedTopology = await loadExample('line-3.json');
const bed: Testbed = await up(topology);
t.teardown(() => bed.down());

const ovs = (node: string, ...args: string[]) => {
  const n = bed.node(node);
  return execFileP(args[0]!, args.slice(1), { env: { ...process.env, ...n.ovsEnv }, encoding: 'utf8' }).then((r) => r.stdout.trim());
};

const underlayTx = async (node: string) =>
  Number((await bed.node(node).exec(['cat', '/sys/class/net/underlay/statistics/tx_packets'])).stdout);

t.test('every node runs its own OVS in its own namespace', async (t) => {
  t.same(bed.nodes.map((n) => n.node), ['sw1', 'h1', 'h2'], 'nodes in topology order');
  const ips = new Set<string>();
  const namespaces = (await execFileP('ip', ['netns', 'list'], { encoding: 'utf8' })).stdout;
  for (const n of bed.nodes) {
    const ns = bed.node(n.node).namespace;
    t.match(ns, new RegExp(`^${bed.runId}-${n.node}$`), `namespace of ${n.node}`);
    t.match(namespaces, new RegExp(`^${ns}( |$)`, 'm'), `${ns} listed by ip netns`);
    ips.add(n.underlayIp);
    t.equal(bed.topology.nodes[n.node]!.underlayIp, n.underlayIp, `${n.node}: underlay address in the returned topology`);

    // OVSDB answers on the node's own socket, through the target given to provisioning.
    t.match(n.ovsdbTarget, /^unix:\/.*\/db\.sock$/);
    const client = await OvsdbClient.connect(n.ovsdbTarget, { reconnect: false });
    const dbs = await client.listDbs().finally(() => client.close());
    t.ok(dbs.includes('Open_vSwitch'), `${n.node}: OVSDB answers list_dbs`);
    // ovs-vsctl with the node's environment reaches that node's OVS, not the machine's.
    const show = await ovs(n.node, 'ovs-vsctl', 'show');
    t.match(show, /Bridge br-phy\n\s+fail_mode: standalone\n\s+datapath_type: netdev/, `${n.node}: br-phy is a userspace bridge`);
    t.match(show, /Port underlay/, `${n.node}: the underlay veth is a port of br-phy`);
    t.match(await ovs(n.node, 'ovs-appctl', '-t', 'ovs-vswitchd', 'version'), /ovs-vswitchd \(Open vSwitch\) 3\./);

    // The underlay address is on br-phy (the tunnel end point), inside the namespace only.
    const addr = (await n.exec(['ip', '-o', '-4', 'addr', 'show', 'dev', 'br-phy'])).stdout;
    t.match(addr, new RegExp(` ${n.underlayIp.replace(/\./g, '\\.')}/24 `), `${n.node}: underlay address on br-phy`);
    // br-phy has the MAC the tunnel neighbours of the other nodes were given.
    const mac = bed.toRecord().nodes[n.node]!.underlayMac;
    t.match((await n.exec(['ip', '-o', 'link', 'show', 'br-phy'])).stdout, new RegExp(`link/ether ${mac} `), `${n.node}: br-phy MAC ${mac}`);
    const neigh = await ovs(n.node, 'ovs-appctl', '-t', 'ovs-vswitchd', 'tnl/neigh/show');
    for (const p of bed.nodes.filter((p) => p !== n)) {
      const line = new RegExp(`^${p.underlayIp.replace(/\./g, '\\.')} +${bed.toRecord().nodes[p.node]!.underlayMac} +br-phy$`, 'm');
      t.match(neigh, line, `${n.node}: tunnel neighbour ${p.node}`);
    }
    // No TX checksum offload on the underlay veth (else TCP through the userspace datapath breaks).
    t.match((await n.exec(['ethtool', '-k', 'underlay'])).stdout, /^tx-checksumming: off/m, `${n.node}: tx offload off`);
    // The daemons really run inside the namespace.
    const pids = (await n.exec(['ip', 'netns', 'pids', ns])).stdout;
    const st = await bed.status();
    const ns0 = st.nodes.find((s) => s.node === n.node)!;
    t.ok(pids.split('\n').includes(String(ns0.vswitchd.pid)), `${n.node}: ovs-vswitchd runs in ${ns}`);
    t.ok(pids.split('\n').includes(String(ns0.ovsdbServer.pid)), `${n.node}: ovsdb-server runs in ${ns}`);
  }
  t.equal(ips.size, 3, 'distinct underlay addresses');

  // Tunnel ports of the returned topology carry both ends; the input is untouched.
  for (const node of Object.values(bed.topology.nodes)) {
    for (const p of node.bridge.ports) {
      if (p.kind !== 'tunnel') continue;
      t.equal(p.localIp, node.underlayIp, `${node.name}/${p.name}: localIp`);
      t.equal(p.remoteIp, bed.topology.nodes[p.peer]!.underlayIp, `${node.name}/${p.name}: remoteIp`);
    }
  }
  t.equal(topology.nodes['h1']!.underlayIp, null, 'the input topology is not modified');

  const status = await bed.status();
  t.equal(status.healthy, true, 'status: healthy');
  t.same(status.nodes.map((n) => [n.node, n.ovsdbReachable, n.vswitchdReachable, n.problem]), [
    ['sw1', true, true, null],
    ['h1', true, true, null],
    ['h2', true, true, null],
  ]);
});

t.test("the daemons' sockets through src/ovsdb: answers, and errors that name the socket", async (t) => {
  const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const ctl = bed.node('h1').vswitchdCtl!;
  t.match(String(await daemonCall(ctl, 'version', [])), /ovs-vswitchd \(Open vSwitch\) 3\./, 'the control socket answers version');
  await t.rejects(daemonCall(ctl, 'no/such-command', []), { message: new RegExp(`^${literally(ctl)}: "no/such-command" failed: .*not a valid command`) },
    "the daemon's error reply, with the socket and the method");
  const missing = path.join(bed.runDir, 'no-such.sock');
  await t.rejects(daemonCall(missing, 'version', []), { message: new RegExp(`cannot connect to unix:${literally(missing)}`) }, 'a missing socket is named');
});

t.test('underlay: every node reaches every other node', async (t) => {
  for (const from of bed.nodes) {
    for (const to of bed.nodes) {
      if (from === to) continue;
      const r = await from.exec(['ping', '-n', '-q', '-c', '1', '-w', '5', to.underlayIp]);
      t.match(r.stdout, / 0% packet loss/, `${from.node} -> ${to.node}`);
    }
  }
  // exec rejects with the command's stderr.
  await t.rejects(bed.node('h1').exec(['ip', 'link', 'show', 'no-such-link']), /no-such-link.*(does not exist|Cannot find)/);
});

t.test('containers talk across a hand-made VXLAN tunnel (ping and TCP)', async (t) => {
  // What provisioning will do through OVSDB, by hand: an overlay bridge on h1 and h2 with a
  // VXLAN port to the other, and one explicit NORMAL flow (fail_mode secure: no implicit one).
  for (const [node, peer] of [['h1', 'h2'], ['h2', 'h1']] as const) {
    const br = bed.topology.nodes[node]!.bridge.name;
    await ovs(node, 'ovs-vsctl', '--timeout=30', '--', 'add-br', br, '--', 'set', 'Bridge', br, 'datapath_type=netdev', 'fail_mode=secure',
      '--', 'add-port', br, `vx-${peer}`, '--', 'set', 'Interface', `vx-${peer}`, 'type=vxlan',
      `options:remote_ip=${bed.node(peer).underlayIp}`, 'options:key=100', 'ofport_request=100');
    await ovs(node, 'ovs-ofctl', '-O', 'OpenFlow13', 'add-flow', br, 'actions=NORMAL');
  }
  const c1 = topology.containers['c1']!;
  const c2 = topology.containers['c2']!;
  const plen = topology.overlay.prefixLength;
  await bed.addContainer('h1', { name: 'c1', mac: c1.mac, ip: c1.ip, prefixLength: plen, portName: c1.port, ofport: c1.ofport });
  await bed.addContainer('h2', { name: 'c2', mac: c2.mac, ip: c2.ip, prefixLength: plen, portName: c2.port, ofport: c2.ofport });

  t.equal(await ovs('h1', 'ovs-vsctl', 'get', 'Interface', c1.port, 'ofport'), String(c1.ofport), 'ofport_request honoured');
  const link = (await bed.execInContainer('c1', ['ip', '-o', 'link', 'show', 'eth0'])).stdout;
  t.match(link, new RegExp(`mtu 1400 .*link/ether ${c1.mac}`), 'container MAC and MTU 1400');
  t.match((await bed.execInContainer('c1', ['ip', '-o', '-4', 'addr', 'show', 'eth0'])).stdout, new RegExp(` ${c1.ip}/${plen} `));
  t.equal((await bed.execInContainer('c1', ['sysctl', '-n', 'net.ipv6.conf.eth0.disable_ipv6'])).stdout.trim(), '1', 'IPv6 off in the container');
  t.match((await bed.execInContainer('c1', ['ethtool', '-k', 'eth0'])).stdout, /^tx-checksumming: off/m, 'tx offload off (container end)');
  t.match((await bed.node('h1').exec(['ethtool', '-k', c1.port])).stdout, /^tx-checksumming: off/m, 'tx offload off (bridge end)');

  const ping = await bed.execInContainer('c1', ['ping', '-n', '-q', '-c', '3', '-i', '0.2', '-w', '10', c2.ip]);
  t.match(ping.stdout, / 0% packet loss/, 'c1 pings c2 across VXLAN');

  const server = bed.spawnInContainer('c2', nodeArgv(SINK, '5001'), { env: cleanEnv() });
  t.teardown(() => void server.kill('SIGKILL'));
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  t.equal(line.toString().trim(), 'listening');
  const bytes = 2 * 1024 * 1024;
  const txBefore = await underlayTx('h1');
  const r = await bed.execInContainer('c1', nodeArgv(SOURCE, c2.ip, '5001', String(bytes)), { timeoutMs: 60_000 });
  const result = JSON.parse(r.stdout) as { sent: number; sha256: string; reply: string };
  t.equal(result.reply, `${bytes} ${result.sha256}`, 'the receiver got every byte, intact, over TCP through VXLAN');

  // The frames went out on h1's underlay (the tunnel is the only way from h1 to h2). The kernel
  // counts them at once; OVS's tunnel port statistics lag behind (revalidator pushes).
  const txAfter = await underlayTx('h1');
  t.ok(txAfter - txBefore > bytes / 1500, `h1 sent ${txAfter - txBefore} packets on the underlay`);
});

t.test('a container moves to another node and keeps its address and processes', async (t) => {
  const c1 = topology.containers['c1']!;
  const server = bed.spawnInContainer('c1', nodeArgv(PID_SERVER, '5002'), { env: cleanEnv() });
  t.teardown(() => void server.kill('SIGKILL'));
  const [line] = (await once(server.stdout!, 'data')) as [Buffer];
  t.equal(line.toString().trim(), 'listening');
  t.ok(bed.containerPids('c1').includes(server.pid!), 'the server is one of the container processes');

  // Across the tunnel first (c2 on h2, c1 on h1).
  t.equal((await bed.execInContainer('c2', nodeArgv(TCP_GET, c1.ip, '5002'), { env: cleanEnv() })).stdout.trim(), String(server.pid));

  // Freeze/thaw stops and resumes the container's processes.
  const frozen = await bed.freeze('c1');
  t.ok(frozen.includes(server.pid!), 'freeze stops the server');
  t.equal(readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]![0], 'T', 'stopped');

  await bed.moveContainer('c1', 'h2', { portName: c1.port, ofport: c1.ofport });
  await bed.thaw('c1');
  t.not(readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]![0], 'T', 'running again');

  t.equal(server.exitCode, null, 'the server survived the move');
  const link = (await bed.execInContainer('c1', ['ip', '-o', 'link', 'show', 'eth0'])).stdout;
  t.match(link, new RegExp(`link/ether ${c1.mac}`), 'same MAC');
  t.match((await bed.execInContainer('c1', ['ip', '-o', '-4', 'addr', 'show', 'eth0'])).stdout, new RegExp(` ${c1.ip}/`), 'same address');
  t.equal(await ovs('h2', 'ovs-vsctl', 'get', 'Interface', c1.port, 'ofport'), String(c1.ofport), 'same OpenFlow port on h2');
  const h1Ports = await ovs('h1', 'ovs-vsctl', 'list-ports', topology.nodes['h1']!.bridge.name);
  t.notOk(h1Ports.split('\n').includes(c1.port), 'gone from h1');
  await t.rejects(bed.node('h1').exec(['ip', 'link', 'show', c1.port]), /does not exist|Cannot find/, 'veth gone from h1');
  t.same(bed.containers.find((c) => c.name === 'c1')?.node, 'h2');

  // Same process, reachable at its new place (c2 is on h2 too now).
  const ping = await bed.execInContainer('c2', ['ping', '-n', '-q', '-c', '2', '-i', '0.2', '-w', '10', c1.ip]);
  t.match(ping.stdout, / 0% packet loss/);
  t.equal((await bed.execInContainer('c2', nodeArgv(TCP_GET, c1.ip, '5002'), { env: cleanEnv() })).stdout.trim(), String(server.pid));

  // And back across the tunnel.
  await bed.moveContainer('c1', 'h1');
  t.equal((await bed.execInContainer('c2', nodeArgv(TCP_GET, c1.ip, '5002'), { env: cleanEnv() })).stdout.trim(), String(server.pid), 'back on h1, across VXLAN');

  await bed.removeContainer('c2');
  t.notOk(bed.containers.some((c) => c.name === 'c2'), 'c2 removed');
  t.notMatch((await execFileP('ip', ['netns', 'list'], { encoding: 'utf8' })).stdout, `${bed.runId}-c2`, 'its namespace is gone');
  await t.rejects(bed.execInContainer('c2', ['true']), /no container "c2"/);
  await t.rejects(bed.addContainer('h1', { name: 'c1', mac: c1.mac, ip: c1.ip, prefixLength: 24, portName: 'x' }), /exists already/);
  await t.rejects(bed.addContainer('h1', { name: 'cx', mac: '01:00:00:00:00:01', ip: '192.168.200.9', prefixLength: 24, portName: 'x' }), /multicast/);
  await t.rejects(
    bed.addContainer('sw1', { name: 'cy', mac: '02:00:00:00:00:09', ip: '192.168.200.9', prefixLength: 24, portName: 'c-cy' }),
    /cannot plug container cy into bridge sw1_br of node sw1/,
    'no overlay bridge yet: a clear error',
  );
  t.notOk(bed.containers.some((c) => c.name === 'cy'), 'the failed container was removed again');
});

t.test('a switch in a node reaches a controller in the root namespace through the gateway', async (t) => {
  const gw = bed.underlay.gateway!;
  t.ok(gw, 'gateway address');
  const target = bed.topology.nodes['sw1']!.bridge.controller;
  t.equal(target.host, gw, 'the loopback controller of the file became the gateway');
  t.equal(target.target, `tcp:${gw}:6633`);

  // A fake controller on the gateway address: OVS must connect and say OpenFlow 1.3 HELLO.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, gw, resolve));
  t.teardown(() => void server.close());
  const port = (server.address() as net.AddressInfo).port;
  const hello = new Promise<{ from: string; head: Buffer }>((resolve) => {
    server.once('connection', (s) => {
      s.once('data', (d: Buffer) => {
        resolve({ from: s.remoteAddress!, head: d.subarray(0, 2) });
        s.destroy();
      });
    });
  });
  await ovs('sw1', 'ovs-vsctl', '--timeout=30', '--', 'add-br', 'probe', '--', 'set', 'Bridge', 'probe', 'datapath_type=netdev', 'protocols=OpenFlow13',
    '--', 'set-controller', 'probe', `tcp:${gw}:${port}`);
  const h = await hello;
  t.equal(h.from, bed.node('sw1').underlayIp, 'connection from the switch node');
  t.same([...h.head], [0x04, 0x00], 'OpenFlow 1.3 HELLO');
  await ovs('sw1', 'ovs-vsctl', 'del-br', 'probe');
});

t.test('down removes every namespace, process, link and folder, and can be called again', async (t) => {
  const { runId, runDir } = bed;
  const before = leftoversOf(runId, runDir);
  t.ok(before.some((l) => l.startsWith('namespace')) && before.some((l) => l.startsWith('process')), 'the run exists before');
  await bed.down();
  t.same(leftoversOf(runId, runDir), [], 'nothing left');
  await bed.down();
  t.throws(() => bed.assertUp(), /is down/);
  await t.rejects(bed.node('h1').exec(['true']), /is down/);
});
