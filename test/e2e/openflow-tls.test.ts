/**
 * OpenFlow over TLS against real Open vSwitch (the embedded testbed: a namespace, ovsdb-server
 * and userspace ovs-vswitchd per node), certificates made by `ovs-pki`: bridges whose switch
 * certificates our CA signed connect to the controller's `ssl:` listener and get our flows; a
 * bridge with a certificate from another PKI, and a switch speaking plain TCP to the TLS port,
 * are refused with the reason logged. A plain TCP listener runs beside the TLS one.
 */
import { TLSSocket } from 'node:tls';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import pino from 'pino';
import t from 'tap';
import { startApp } from '../../controller/app.js';
import { runCommand } from '../../controller/commands/run.js';
import { FakeSwitch } from '../../src/openflow-sim/fake-switch.js';
import { NetnsProvider } from '../../controller/provision/netns.js';
import { runProvisioning } from '../../controller/provision/run.js';
import { Overlay } from '../../testbed/workload/overlay.js';
import { makePki } from '../util/ovs-pki.js';
import { repoRoot } from '../util/paths.js';

const TOPOLOGY = join(repoRoot(), 'topologies', 'line-3.json');

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('OpenFlow over TLS with real OVS bridges on the testbed', { timeout: 240_000 }, async (t) => {
  const pki = await makePki(t, 'of-tls');
  const ctl = await pki.identity('vino-ctl', 'controller');
  const otherPki = await makePki(t, 'of-tls-other');

  const ov = await Overlay.create('line-3.json');
  t.teardown(() => ov.down());
  const logLines: string[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _enc, done) { logLines.push(chunk.toString()); done(); } }));
  const app = await startApp({
    topology: ov.topology, logger, apiListen: null,
    ofListen: [{ host: ov.controllerHost, port: 0 }, { host: ov.controllerHost, port: ov.controllerPort, tls: { key: ctl.key, cert: ctl.cert, ca: pki.switchCa } }],
  });
  t.teardown(() => app.stop());
  const events: Array<{ type: string; [k: string]: unknown }> = [];
  app.controller.on('event', (e: { type: string }) => events.push(e));
  t.equal(app.openflow.length, 2, 'a plain and a TLS listener side by side');
  t.notOk(app.openflow[0]!.tls, 'first listener: plain TCP');
  t.ok(app.openflow[1]!.tls, 'second listener: TLS');

  // sw1 and h1 get certificates from our PKI, h2 one from another PKI; all trust our controller CA.
  const [good1, good2, stranger] = ['sw1', 'h1', 'h2'] as const;
  for (const node of [good1, good2, stranger]) {
    const id = await (node === stranger ? otherPki : pki).identity(`switch-${node}`, 'switch');
    await ov.vsctl(node, 'set-ssl', id.keyFile, id.certFile, pki.controllerCaFile);
  }
  const target = `ssl:${ov.controllerHost}:${ov.controllerPort}`;
  const report = await runProvisioning(ov.topology, new NetnsProvider(ov.bed), { mode: 'provision', plan: { controllerTarget: target } });
  t.ok(report.ok, `provisioned with controller ${target}`);

  for (const node of [good1, good2]) {
    const session = await until(`${node} to connect over TLS`, () => app.controller.sessions.get(node));
    t.ok(session.socket instanceof TLSSocket, `${node}: the session runs over TLS`);
    const flows = await until(`our flows on ${node}`, async () => {
      const dump = await ov.ofctl(node, 'dump-flows');
      return /cookie=0x5649/.test(dump) ? dump : undefined;
    });
    t.match(flows, /cookie=0x5649/, `${node}: the controller installed its flows over TLS`);
  }
  // OVS refreshes the column every few seconds.
  const status = await until('sw1 to report its controller connected', async () => {
    const out = await ov.vsctl(good1, '--columns=is_connected', 'list', 'controller');
    return /is_connected\s*: true/.test(out) ? out : undefined;
  });
  t.match(status, /is_connected\s*: true/, 'OVS reports its ssl: controller connected');

  // h2's certificate is from another CA: refused during the handshake, the reason logged.
  const refused = await until('h2 to be refused', () => events.find((e) => e.type === 'switch-refused'));
  t.match(refused.reason, /switch certificate not accepted: .*(issuer|verify|signature)/i, `refused with a reason: ${String(refused.reason)}`);
  t.ok(logLines.some((l) => l.includes('switch refused: TLS handshake failed')), 'the refusal is logged');
  t.notOk(app.controller.sessions.has(stranger), 'h2 never became a session');
  t.match(await ov.vsctl(stranger, '--columns=is_connected', 'list', 'controller'), /is_connected\s*: false/, 'h2 is not connected');

  // Plain OpenFlow to the TLS port: no handshake, no session.
  const before = events.filter((e) => e.type === 'switch-refused').length;
  const plain = new FakeSwitch(ov.controllerPort, { datapathId: 0x7e57n }, ov.controllerHost);
  t.teardown(() => plain.close());
  const plainRefusal = await until('the plain-TCP switch to be refused', () => events.filter((e) => e.type === 'switch-refused')[before]);
  t.comment(`plain TCP to the TLS port: ${String(plainRefusal.reason)}`);
  t.equal(app.controller.unknownSessions.size, 0, 'a switch speaking plain TCP to the TLS port gets no session');
  t.ok(app.controller.sessions.has(good1) && app.controller.sessions.has(good2), 'the good switches stay connected');
});

t.test('--of-listen ssl: needs --of-key, --of-cert and --of-ca', async (t) => {
  const io = { out: () => {}, err: () => {} };
  await t.rejects(runCommand.run(['--topology', TOPOLOGY, '--of-listen', 'ssl:127.0.0.1:0'], io), /TLS needs --of-key, --of-cert, --of-ca/);
  const pki = await makePki(t, 'of-tls-cli');
  await t.rejects(
    runCommand.run(['--topology', TOPOLOGY, '--of-listen', 'ssl:127.0.0.1:0', '--of-key', pki.switchCaFile, '--of-cert', pki.switchCaFile], io),
    /TLS needs --of-ca/,
  );
  await t.rejects(runCommand.run(['--topology', TOPOLOGY, '--of-listen', '127.0.0.1:0', '--of-ca', pki.switchCaFile], io), /no --of-listen is ssl:/);
  await t.rejects(runCommand.run(['--topology', TOPOLOGY, '--of-ca', join(pki.dir, 'nope.pem'), '--of-listen', 'ssl:127.0.0.1:0'], io), /--of-ca: cannot read .*nope\.pem: no such file/);
  await t.rejects(runCommand.run(['--topology', TOPOLOGY, '--of-ca', TOPOLOGY, '--of-listen', 'ssl:127.0.0.1:0'], io), /--of-ca: .* is not a PEM file/);
  await t.rejects(runCommand.run(['--topology', TOPOLOGY, '--api-cert', pki.switchCaFile], io), /HTTPS needs both --api-cert and --api-key \(missing --api-key\)/);
});
