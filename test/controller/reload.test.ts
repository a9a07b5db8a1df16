/**
 * Reload without restart (PUT /api/v1/topology) against fake switches: the diff, dry runs and
 * refusals that change nothing, flow_mods only where the desired table changed, new switches
 * served when they connect, a removed link rerouted make-before-break, and other switches
 * served while a large reload is being computed.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveTopology } from '../../src/topology/load.js';
import type { Message } from '../../src/openflow/types/index.js';
import { makeWorld, walkBetween, type World } from './world.js';
import { repoRoot } from '../util/paths.js';
import { addRegion, generateTopology } from '../../src/topology/generate.js';
import { arpRequest } from '../../bench/lib/raw-client.js';

type Doc = { name: string; nodes: Record<string, unknown>; links: Record<string, unknown>[]; containers: Record<string, unknown> };

const twoRegion = (): Doc => JSON.parse(readFileSync(join(repoRoot(), 'topologies', 'two-region.json'), 'utf8')) as Doc;

const put = (w: World, doc: unknown, query = '') => fetch(`${w.apiUrl}/api/v1/topology${query}`, {
  method: 'PUT', headers: { 'content-type': 'application/json' }, body: typeof doc === 'string' ? doc : JSON.stringify(doc),
});

const isMod = (m: Message) => m.type === 'FLOW_MOD' || m.type === 'GROUP_MOD' || m.type === 'METER_MOD';

function modsSince(w: World, mark: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [node, sw] of w.switches) out.set(node, sw.received.slice(mark.get(node) ?? 0).filter(isMod).length);
  return out;
}

const markNow = (w: World) => new Map([...w.switches].map(([n, sw]) => [n, sw.received.length]));

type ReloadBody = { changes: string[]; switchesTouched: string[]; flowMods: number; dryRun: boolean; diff: { nodes: { added: string[] } } };

t.test('dry run and invalid documents change nothing; a grown region touches only the switches whose table changed', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const doc = twoRegion();
  doc.nodes['h5'] = { kind: 'host', region: 'EDGE-TR2' };
  doc.links.push({ switch: 'sw3', host: 'h5', overlay_ip: '192.168.200.15' });

  let mark = markNow(w);
  const dry = await put(w, doc, '?dry_run=1');
  t.equal(dry.status, 200);
  const dryBody = await dry.json() as ReloadBody;
  t.same(dryBody.changes, ['+ node h5', '+ link h5~sw3'], 'the diff');
  t.equal(dryBody.dryRun, true);
  t.notOk(w.app.controller.topology.nodes['h5'], 'dry run: the topology in force is unchanged');
  t.ok([...modsSince(w, mark).values()].every((n) => n === 0), 'dry run: no flow_mod anywhere');

  const bad = structuredClone(doc);
  bad.links.push({ switch: 'sw9', host: 'h5', overlay_ip: '192.168.200.16' });
  (bad.containers as Record<string, { mac: string }>)['web']!.mac = 'zz';
  const refused = await put(w, bad);
  t.equal(refused.status, 400);
  const refusal = await refused.json() as { errors: { path: string }[] };
  t.ok(refusal.errors.some((p) => p.path === 'links[7].switch'), `the unknown switch, by JSON path (${JSON.stringify(refusal.errors)})`);
  t.ok(refusal.errors.some((p) => p.path === 'containers.web.mac'), 'the bad MAC, by JSON path');
  const notJson = await put(w, '{"name": ');
  t.equal(notJson.status, 400, 'text that is not JSON: 400');
  t.notOk(w.app.controller.topology.nodes['h5'], 'refused: the topology in force is unchanged');
  t.ok([...modsSince(w, mark).values()].every((n) => n === 0), 'refused: no flow_mod anywhere');

  mark = markNow(w);
  const res = await put(w, doc);
  t.equal(res.status, 200);
  const body = await res.json() as ReloadBody;
  t.same(body.changes, ['+ node h5', '+ link h5~sw3']);
  const mods = modsSince(w, mark);
  t.ok(mods.get('sw3')! > 0, `sw3 (new tunnel) got ${mods.get('sw3')} mods`);
  for (const node of ['sw1', 'sw2', 'h1', 'h2', 'h3', 'h4']) t.equal(mods.get(node), 0, `${node}: table unchanged, no flow_mod`);
  t.same(body.switchesTouched, ['sw3'], 'the reply names the switches touched');
  t.equal(body.flowMods, mods.get('sw3'), 'and counts their mods');

  // The new switch connects, then a container is added on it by a second reload.
  w.reshape(w.app.controller.topology);
  await w.connectSwitch('h5');
  for (let i = 0; i < 200 && !w.app.controller.sessions.get('sw3')!.ports.has(w.ofport('sw3', 'vx-h5')); i++) await new Promise((r) => setTimeout(r, 10));
  await w.waitSettled();
  doc.containers['far'] = { mac: '02:00:00:00:00:05', ip: '192.168.200.105', host: 'h5' };
  const res2 = await put(w, doc);
  t.equal(res2.status, 200);
  t.same((await res2.json() as ReloadBody).changes, ['+ container far']);
  const far = w.app.controller.locations.get('far')!;
  t.match(far, { node: 'h5', source: 'topology' });
  // Ingress entries for the new container come with traffic: the world's settle stands in for it.
  await w.waitSettled();
  t.same(walkBetween(w, 'web', 'far').delivered.map((d) => `${d.switch}:${d.port}`), [`h5:${far.ofport}`], 'web → far');
  t.same(walkBetween(w, 'far', 'client').delivered.map((d) => `${d.switch}:${d.port}`), [`h4:${w.app.controller.locations.get('client')!.ofport}`], 'far → client');

  // Shrinking: h5 with a container placed through the API is refused, naming it; nothing changes.
  const visitor = await fetch(`${w.apiUrl}/api/v1/containers/visitor`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac: '02:00:00:00:00:06', node: 'h5', ofport: 7000 }) });
  t.equal(visitor.status, 200);
  const shrink = twoRegion();
  mark = markNow(w);
  const conflict = await put(w, shrink);
  t.equal(conflict.status, 409);
  const conflictBody = await conflict.json() as { detail: string; errors: { path: string; message: string }[] };
  t.ok(conflictBody.errors.some((p) => p.path === 'nodes.h5' && /"h5" still holds container "visitor"/.test(p.message)), `the container is named (${conflictBody.detail})`);
  t.ok(w.app.controller.topology.nodes['h5'] && w.app.controller.locations.get('far'), 'refused: nothing changed');
  t.ok([...modsSince(w, mark).values()].every((n) => n === 0), 'refused: no flow_mod anywhere');
  t.equal((await fetch(`${w.apiUrl}/api/v1/containers/visitor`, { method: 'DELETE' })).status, 204);
  const both = await put(w, shrink);
  t.equal(both.status, 409, 'a node and its container removed in one reload: the container must go first');
  t.match((await both.json() as { detail: string }).detail, /"h5" still holds container "far"/);
  delete (doc.containers as Record<string, unknown>)['far'];
  const res3 = await put(w, doc);
  t.same((await res3.json() as ReloadBody).changes, ['- container far']);
  const res4 = await put(w, shrink);
  t.equal(res4.status, 200);
  t.same((await res4.json() as ReloadBody).changes, ['- node h5', '- link h5~sw3']);
  for (let i = 0; i < 100 && !w.switches.get('h5')!.closed; i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(w.switches.get('h5')!.closed, 'the removed node\'s switch was let go');
  t.same(walkBetween(w, 'web', 'client').delivered.length, 1, 'the rest still forwards');
});

t.test('a removed node with a prepared migration is refused with 409', async (t) => {
  const w = await makeWorld('two-region.json');
  t.teardown(() => w.close());
  const prep = await fetch(`${w.apiUrl}/api/v1/migrations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ container: 'db', to: { switch: 'h3', port: 'c-db' } }) });
  t.equal(prep.status, 201);
  const doc = twoRegion();
  delete doc.nodes['h3'];
  doc.links = doc.links.filter((l) => l['host'] !== 'h3');
  const res = await put(w, doc);
  t.equal(res.status, 409);
  t.match((await res.json() as { detail: string }).detail, /"h3" is an end of the prepared migration of "db"/);
});

/** A ring of four switches, a host on sw1 and one on sw3: two equal paths between them. */
function ring(): Doc {
  return {
    name: 'ring-4',
    nodes: {
      sw1: { kind: 'switch', region: 'A' }, sw2: { kind: 'switch', region: 'A' }, sw3: { kind: 'switch', region: 'B' }, sw4: { kind: 'switch', region: 'B' },
      h1: { kind: 'host', region: 'A' }, h3: { kind: 'host', region: 'B' },
    },
    links: [
      { switch: 'sw1', peer: 'sw2' }, { switch: 'sw2', peer: 'sw3' }, { switch: 'sw3', peer: 'sw4' }, { switch: 'sw4', peer: 'sw1' },
      { switch: 'sw1', host: 'h1', overlay_ip: '192.168.200.11' }, { switch: 'sw3', host: 'h3', overlay_ip: '192.168.200.13' },
    ],
    containers: {
      a: { mac: '02:00:00:00:00:0a', ip: '192.168.200.101', host: 'h1' },
      b: { mac: '02:00:00:00:00:0b', ip: '192.168.200.102', host: 'h3' },
    },
  };
}

t.test('a link removed from a ring: new paths before old ones go, every intermediate state delivers', async (t) => {
  const doc = ring();
  let world: World | undefined;
  const broken: string[] = [];
  let checks = 0;
  // After every flow/group mod (once the switch applied it), both directions must still arrive.
  const check = (node: string, msg: Message) => queueMicrotask(() => {
    if (!world || !watching) return;
    checks++;
    for (const [src, dst] of [['a', 'b'], ['b', 'a']] as const) {
      const r = walkBetween(world, src, dst);
      if (r.looped || r.delivered.length !== 1 || r.delivered[0]!.switch !== world.app.controller.locations.get(dst)!.node) broken.push(`${src}→${dst} after ${msg.type} on ${node}: ${JSON.stringify(r.delivered.map((d) => d.switch))}`);
    }
  });
  let watching = false;
  const w = world = await makeWorld(resolveTopology(doc), { onModify: check });
  t.teardown(() => w.close());
  const before = walkBetween(w, 'a', 'b');
  t.equal(before.delivered.length, 1);
  const stages: string[] = [];
  w.app.controller.on('event', (e: { type: string; stage?: string }) => {
    if (e.type === 'flows-applied') stages.push(String(e.stage));
  });
  // The path a → b goes sw1 → sw2 → sw3 (ties go to the smaller name): remove sw1–sw2.
  const next = ring();
  next.links = next.links.filter((l) => !(l['switch'] === 'sw1' && l['peer'] === 'sw2'));
  watching = true;
  const res = await put(w, next);
  watching = false;
  t.equal(res.status, 200);
  t.same((await res.json() as ReloadBody).changes, ['- link sw1~sw2']);
  t.ok(checks > 0, `${checks} intermediate states walked`);
  t.same(broken, [], 'no intermediate state lost a frame');
  const firstCleanup = stages.indexOf('cleanup');
  t.ok(firstCleanup > 0 && stages.slice(firstCleanup).every((s) => s === 'cleanup'), `removals only after every addition (${stages.join(', ')})`);
  // The tunnel is gone for good now: traffic takes sw4.
  w.reshape(w.app.controller.topology);
  const after = walkBetween(w, 'a', 'b');
  t.equal(after.delivered.length, 1, 'a → b delivered after the link is unplugged');
  t.notOk(after.looped, 'no loop');
});

t.test('vino-controller reload: checks the file, prints the changes, exit 1 when refused or unreachable', async (t) => {
  const { reloadCommand } = await import('../../controller/commands/reload.js');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const w = await makeWorld('two-region.json');
  const dir = mkdtempSync(join(tmpdir(), 'vino-reload-cli-'));
  t.teardown(async () => {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await reloadCommand.run(args, { out: (s) => void (out += s), err: (s) => void (err += s) });
    return { code, out, err };
  };
  const doc = twoRegion();
  doc.nodes['h5'] = { kind: 'host', region: 'EDGE-TR2' };
  doc.links.push({ switch: 'sw3', host: 'h5', overlay_ip: '192.168.200.15' });
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify(doc));
  let r = await run('--topology', good, '--api', w.apiUrl, '--dry-run');
  t.equal(r.code, 0);
  t.equal(r.out, '+ node h5\n+ link h5~sw3\ndry run: nothing applied\n');
  t.notOk(w.app.controller.topology.nodes['h5'], 'dry run applied nothing');

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...doc, links: [...doc.links, { switch: 'sw9', peer: 'sw1' }] }));
  r = await run('--topology', bad, '--api', w.apiUrl);
  t.equal(r.code, 1);
  t.match(r.err, /bad\.json:\d+:\d+: links\[7\]\.switch: unknown node "sw9"/, 'the problem with file, line, column and JSON path');

  r = await run('--topology', good, '--api', w.apiUrl, '--provision');
  t.equal(r.code, 1, 'provisioning asked of a controller without a provider');
  t.match(r.err, /HTTP 400.*no provisioner/);

  r = await run('--topology', good, '--api', w.apiUrl);
  t.equal(r.code, 0);
  t.match(r.out, /\+ node h5\n\+ link h5~sw3\napplied: 1 switches touched, \d+ flow\/group\/meter mods, 0 nodes provisioned/);
  t.ok(w.app.controller.topology.nodes['h5'], 'applied');

  r = await run('--topology', good, '--api', 'http://127.0.0.1:1');
  t.equal(r.code, 1);
  t.match(r.err, /cannot reach the controller at http:\/\/127\.0\.0\.1:1/);
});

t.test('while a large reload is computed, other switches are served: an ECHO is answered before its flow_mods, a PACKET_IN meanwhile', async (t) => {
  const doc = generateTopology({ shape: 'regions', name: 'gen', switches: 40, regionSize: 5, hostsPerRegion: 2 });
  const w = await makeWorld(resolveTopology(doc));
  t.teardown(() => w.close());
  const grown = structuredClone(doc);
  addRegion(grown, 8, 3, 2);
  // One bridge a slice: the computation yields after each of the 56 switches, whatever the machine's speed.
  w.app.controller.options.syncSliceMs = 0;
  // s3-0 gets the new region's tunnel (flows and flood group in the first stage): a reload
  // computed in one piece would send those before reading the switch's request.
  const parent = w.switches.get('s3-0')!;
  const host = w.switches.get('h0-0')!;
  const c00 = w.app.controller.locations.get('c0-0')!;
  const c10 = w.app.controller.locations.get('c1-0')!;
  const mark = markNow(w);
  const reload = w.app.controller.reload(resolveTopology(grown));
  parent.write({ type: 'ECHO_REQUEST', xid: 0x5eed, data: Buffer.from('during the reload') });
  host.packetIn(c00.ofport, arpRequest(c00.mac, c00.ip!, c10.ip!));
  const result = await reload;
  t.same(result.diff.nodes.added.sort(), ['h8-0', 'h8-1', 's8-0', 's8-1', 's8-2']);

  const seen = (node: string) => w.switches.get(node)!.received.slice(mark.get(node));
  const echo = seen('s3-0').findIndex((m) => m.type === 'ECHO_REPLY' && m.xid === 0x5eed);
  const parentMod = seen('s3-0').findIndex(isMod);
  t.ok(echo >= 0 && parentMod >= 0, `s3-0 got its echo reply (${echo}) and the reload's mods (${parentMod})`);
  t.ok(echo < parentMod, 'the echo reply came before the reload\'s first mod to s3-0');
  // A host bridge forwards every remote label through its uplink's default flow: a region added
  // elsewhere changes nothing on it, and its packet-ins are answered meanwhile.
  t.ok(seen('h0-0').some((m) => m.type === 'PACKET_OUT'), 'h0-0 got the proxy-ARP reply');
  t.equal(seen('h0-0').findIndex(isMod), -1, 'h0-0 (a host, labels by its default flow) got no mod');
  t.ok(result.switchesTouched.includes('s3-0') && !result.switchesTouched.includes('h0-0'));

  // Slice by slice, the same tables as one whole computation: read back and reconciled, nothing to send.
  const settled = markNow(w);
  await w.app.controller.requestSync('check after the reload', { reconcileAll: true });
  const after = modsSince(w, settled);
  t.same([...after].filter(([, n]) => n > 0), [], 'no switch needs a change after reading its flows back');
});
