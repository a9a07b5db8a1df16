// End to end on the emulated testbed (root): a line-3 testbed with a real ovs-vswitchd per node,
// provisioned through the API and through the CLI (netns provider, state file), checked with
// ovs-vsctl and ip inside each node.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { Testbed, makeState, stateFilePath, writeState } from '../../testbed/index.js';
import { deprovisionCommand, provisionCommand } from '../../controller/commands/provision.js';
import { NetnsProvider } from '../../controller/provision/netns.js';
import { formatRunReport, runProvisioning } from '../../controller/provision/run.js';
import { loadTopology } from '../../src/topology/load.js';
import { repoRoot } from '../util/paths.js';

if (process.getuid?.() !== 0) {
  t.plan(0, 'skipped: needs root (network namespaces)');
} else {
  const file = path.join(repoRoot(), 'topologies', 'line-3.json');
  const topology = await loadTopology(file);
  const bed = await Testbed.up(topology);
  t.teardown(() => bed.down());
  const gw = bed.underlay.gateway!;
  const vsctl = async (node: string, ...args: string[]) => (await bed.node(node).exec(['ovs-vsctl', '--timeout=10', ...args])).stdout.trim();

  t.test('provision: every node shows its bridge, tunnels, controller; vswitchd honours the ofports', async (t) => {
    const provider = new NetnsProvider(bed);
    t.teardown(() => provider.close());
    const r = await runProvisioning(topology, provider, { mode: 'provision' });
    t.ok(r.ok, formatRunReport(r, { verbose: true }));

    for (const [name, node] of Object.entries(topology.nodes)) {
      const show = await vsctl(name, 'show');
      const br = node.bridge;
      t.match(show, new RegExp(`Bridge ${br.name}\\n\\s+Controller "tcp:${gw.replace(/\./g, '\\.')}:6633"\\n\\s+fail_mode: secure\\n\\s+datapath_type: netdev`), `${name}: bridge and controller`);
      t.match(show, /Bridge br-phy/, `${name}: the testbed's underlay bridge is still there`);
      for (const p of br.ports) {
        if (p.kind === 'container') continue;
        t.match(show, new RegExp(`Port ${p.name}\\n\\s+Interface ${p.name}\\n\\s+type: ${p.kind === 'internal' ? 'internal' : 'vxlan'}`), `${name}: port ${p.name}`);
        // ovs-vswitchd gave every port the number the topology planned.
        t.equal(await vsctl(name, 'get', 'Interface', p.name, 'ofport'), String(p.ofport), `${name}: ${p.name} got ofport ${p.ofport}`);
        if (p.kind === 'tunnel') {
          const peer = bed.node(p.peer).underlayIp;
          // No local_ip: the testbed's OVS routes tunnels by its own table (NetnsProvider.underlayIsLocal).
          t.equal(await vsctl(name, 'get', 'Interface', p.name, 'options'), `{key="${p.vni}", remote_ip="${peer}"}`);
        }
      }
      t.equal(await vsctl(name, 'get', 'Bridge', br.name, 'datapath_id'), `"${br.dpid}"`, `${name}: datapath id in effect`);
      t.equal(await vsctl(name, '--columns=name', 'find', 'Interface', 'error!=[]'), '', `${name}: no interface in error`);
      if (br.internalPort) {
        const ip = (await bed.node(name).exec(['ip', '-o', '-4', 'addr', 'show', 'dev', br.internalPort.name])).stdout;
        t.match(ip, new RegExp(`inet ${br.internalPort.ip.replace(/\./g, '\\.')}/${br.internalPort.prefixLength} `), `${name}: overlay address`);
        t.match((await bed.node(name).exec(['ip', '-o', 'link', 'show', 'dev', br.internalPort.name])).stdout, /[<,]UP[,>]/);
      }
    }

    const again = await runProvisioning(topology, provider, { mode: 'provision' });
    t.ok(again.ok);
    t.same(again.nodes.map((n) => [n.node, n.status, n.operations]), Object.keys(topology.nodes).map((n) => [n, 'up-to-date', 0]), 're-provision is a no-op');
  });

  t.test('the CLI with the netns provider: state file, deprovision leaves the testbed bridge', async (t) => {
    const stateDir = await mkdtemp(path.join(os.tmpdir(), `vino-prov-state-${process.pid}-`));
    t.teardown(() => rm(stateDir, { recursive: true, force: true }));
    writeState(stateFilePath(stateDir, topology.name), makeState(file, bed.toRecord(), bed.topology));
    const io = () => {
      const o = { out: '', err: '' };
      return { o, io: { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) } };
    };

    const a = io();
    t.equal(await provisionCommand.run(['--topology', file, '--provider', 'netns', '--state-dir', stateDir], a.io), 0, a.o.err);
    t.match(a.o.out, /3 nodes: 3 up to date/, 'provisioned already by the previous test');

    const d = io();
    t.equal(await deprovisionCommand.run(['--topology', file, '--provider', 'netns', '--state-dir', stateDir], d.io), 0, d.o.err);
    t.match(d.o.out, /h1 +0 created, 0 updated, 6 removed/);
    for (const name of Object.keys(topology.nodes)) t.equal(await vsctl(name, 'list-br'), 'br-phy', `${name}: only the testbed's bridge is left`);

    const missing = io();
    t.equal(await provisionCommand.run(['--topology', file, '--provider', 'netns', '--state-dir', path.join(stateDir, 'none')], missing.io), 1);
    t.match(missing.o.err, /no running testbed for topology "line-3": .*none\/line-3\.json does not exist/);
  });
}
