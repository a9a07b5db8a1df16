/**
 * Ingress entries on demand through the controller: a miss floods and reports (packet-in from
 * the controller table), the controller installs the entry, the next frame goes straight to the
 * destination's edge; FLOW_REMOVED of the entry (idle timeout) takes it out of the demand set.
 * ARP requests for IPs the controller does not know are flooded by PACKET_OUT.
 */
import t from 'tap';
import { ipv4Frame, makeWorld, walkBetween } from './world.js';
import { RuleKind, cookieKind, ruleCookie } from '../../controller/core/cookies.js';
import { CONTROLLER_TABLE } from '../../controller/core/forwarding.js';
import type { Message } from '../../src/openflow/types/index.js';

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
}

function arpRequest(srcMac: string, srcIp: string, targetIp: string): Buffer {
  const f = Buffer.alloc(42);
  f.fill(0xff, 0, 6);
  Buffer.from(srcMac.replace(/:/g, ''), 'hex').copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14);
  f.writeUInt16BE(0x0800, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20);
  Buffer.from(srcMac.replace(/:/g, ''), 'hex').copy(f, 22);
  Buffer.from(srcIp.split('.').map(Number)).copy(f, 28);
  Buffer.from(targetIp.split('.').map(Number)).copy(f, 38);
  return f;
}

t.test('a miss floods and reports; the controller installs the ingress entry; FLOW_REMOVED takes it away', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const ctl = w.app.controller;
  // A container nobody has sent to yet (the world primes demand only for those it started with).
  await ctl.placeContainer({ name: 'newbie', mac: '02:00:00:00:00:42', ip: '192.168.200.142', node: 'h3', ofport: 77 });
  const client = ctl.locations.get('client')!;
  t.notOk(ctl.demand.has(client.node, '02:00:00:00:00:42'), 'no demand yet');

  const miss = walkBetween(w, 'client', 'newbie');
  t.notOk(miss.looped);
  t.equal(miss.delivered.filter((d) => d.switch === 'h3' && d.port === 77).length, 1, 'the first frame reaches it once, flooded');
  const reports = miss.toController.filter((d) => d.cookie !== undefined && cookieKind(d.cookie) === RuleKind.TO_CONTROLLER);
  t.same(reports.map((d) => d.switch), [client.node], 'one report, from the ingress bridge');

  // The switch sends that report; the controller answers with the entry.
  const sw = w.switches.get(client.node)!;
  sw.packetIn(client.ofport, ipv4Frame('02:00:00:00:00:42', client.mac), ruleCookie(RuleKind.TO_CONTROLLER, 'controller'), CONTROLLER_TABLE);
  const entryOf = () => w.tables.get(client.node)!.flows.find((f) => cookieKind(f.cookie) === RuleKind.INGRESS_ENTRY && f.match.fields.some((m) => m.field === 'eth_dst' && m.value === '02:00:00:00:00:42'));
  await until('the ingress entry', () => entryOf() !== undefined);
  t.ok(ctl.demand.has(client.node, '02:00:00:00:00:42'), 'in the demand set');
  const mod = sw.received.find((m): m is Extract<Message, { type: 'FLOW_MOD' }> => m.type === 'FLOW_MOD' && cookieKind(m.cookie) === RuleKind.INGRESS_ENTRY && m.match.fields.some((f) => f.field === 'eth_dst' && f.value === '02:00:00:00:00:42'))!;
  t.ok(mod.idleTimeout > 0 && (mod.flags & 1) === 1, `sent with idle_timeout ${mod.idleTimeout} and send_flow_rem`);
  const hit = walkBetween(w, 'client', 'newbie');
  t.same(hit.delivered.map((d) => `${d.switch}:${d.port}`), ['h3:77'], 'then delivered once, only there');
  t.same(hit.toController, [], 'without the controller');
  const others = [...w.tables].filter(([n]) => n !== client.node && n !== 'h3').flatMap(([, s]) => s.flows.filter((f) => f.match.fields.some((m) => m.field === 'eth_dst' && m.value === '02:00:00:00:00:42')));
  t.same(others, [], 'no other bridge holds a flow for it');

  // The switch removes it after its idle timeout and says so.
  const entry = entryOf()!;
  w.tables.get(client.node)!.flows = w.tables.get(client.node)!.flows.filter((f) => f !== entry);
  sw.write({
    type: 'FLOW_REMOVED', xid: 0, cookie: entry.cookie, priority: entry.priority, reason: 'IDLE_TIMEOUT', tableId: entry.tableId,
    durationSec: 300, durationNsec: 0, idleTimeout: mod.idleTimeout, hardTimeout: 0, packetCount: 1n, byteCount: 60n, match: entry.match,
  });
  await until('the demand entry to go', () => !ctl.demand.has(client.node, '02:00:00:00:00:42'));
  await ctl.requestSync('after FLOW_REMOVED');
  t.equal(entryOf(), undefined, 'not installed again without new demand');
  t.equal(ctl.switchInfo().find((s) => s.name === client.node)!.flowCount, w.tables.get(client.node)!.flows.length, 'the controller\'s model matches the switch');
});

t.test('ARP for an IP the controller does not know is flooded by PACKET_OUT; a known one is answered', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const ctl = w.app.controller;
  const client = ctl.locations.get('client')!;
  const sw = w.switches.get(client.node)!;
  const arpCookie = ruleCookie(RuleKind.PROXY_ARP, 'arp');
  sw.packetIn(client.ofport, arpRequest(client.mac, client.ip!, '192.168.200.250'), arpCookie, 0);
  const flood = await sw.waitFor((m) => m.type === 'PACKET_OUT' && m.actions.some((a) => a.type === 'GROUP')) as Extract<Message, { type: 'PACKET_OUT' }>;
  t.equal(flood.inPort, client.ofport, 'flooded as from its port (never back out of it)');
  t.match(flood.actions, [{ type: 'GROUP', groupId: 1 }]);
  const web = ctl.locations.get('web')!;
  sw.packetIn(client.ofport, arpRequest(client.mac, client.ip!, web.ip!), arpCookie, 0);
  const reply = await sw.waitFor((m) => m.type === 'PACKET_OUT' && m.actions.some((a) => a.type === 'OUTPUT' && a.port === client.ofport) && m.data.length === 42) as Extract<Message, { type: 'PACKET_OUT' }>;
  t.equal(reply.data.subarray(22, 28).toString('hex'), web.mac.replace(/:/g, ''), 'answered with the owner\'s MAC');
});
