// Provisioning through an `ssl:` OVSDB target: certificates from ovs-pki, a real ovsdb-server
// listening with pssl:. The node is provisioned over TLS; with a CA that did not sign the
// server's certificate the node fails, naming the TLS refusal, and nothing is written.
import t from 'tap';
import { runProvisioning } from '../../controller/provision/run.js';
import { makePki } from '../util/ovs-pki.js';
import { TestNode, TestProvider, topologyJson, vsctl, withUnderlay } from './helpers.js';

t.test('provisioning over an ssl: OVSDB target', { timeout: 120_000 }, async (t) => {
  const topo = withUnderlay(topologyJson('line-3.json'));
  const pki = await makePki(t, 'prov-tls');
  const server = await pki.identity('ovsdb-h1', 'switch');
  const us = await pki.identity('provisioner', 'controller');
  const h1 = await TestNode.start(t, 'h1', { ssl: { keyFile: server.keyFile, certFile: server.certFile, caFile: pki.controllerCaFile } });
  const provider = new TestProvider(topo, { h1 });
  t.match(h1.access('192.0.2.1').ovsdbTarget, /^ssl:127\.0\.0\.1:\d+$/);

  const other = await makePki(t, 'prov-tls-other');
  const refused = await runProvisioning(topo, provider, { mode: 'provision', nodes: ['h1'], ovsdbTls: { key: us.key, cert: us.cert, ca: other.switchCa } });
  t.equal(refused.nodes[0]!.status, 'failed', 'a server certificate our CA did not sign: the node fails');
  t.match(refused.nodes[0]!.error, /^connecting to OVSDB: cannot connect to ssl:127\.0\.0\.1:\d+: .*certificate/);
  t.equal(await vsctl(h1.server, 'list-br'), '', 'nothing written');

  const r = await runProvisioning(topo, provider, { mode: 'provision', nodes: ['h1'], ovsdbTls: { key: us.key, cert: us.cert, ca: pki.switchCa } });
  t.ok(r.ok, 'provisioned over TLS');
  t.equal(r.nodes[0]!.status, 'changed');
  t.equal(await vsctl(h1.server, 'list-br'), 'h1_br', 'the bridge is there');
  const again = await runProvisioning(topo, provider, { mode: 'provision', nodes: ['h1'], ovsdbTls: { key: us.key, cert: us.cert, ca: pki.switchCa } });
  t.equal(again.nodes[0]!.status, 'up-to-date', 'a second run over TLS changes nothing');
});
