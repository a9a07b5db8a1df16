/**
 * sameInstructions compares in place what instructionsKey compares as text: the two must agree
 * on every flow the forwarding code makes, as sent and as a switch reports it back (encoded and
 * decoded), and on every pair of different flows.
 */
import t from 'tap';
import { buildFabric, ep } from './fabric-fixture.js';
import { BridgeMacs, computeDesiredState, type MigrationInProgress } from '../../controller/core/forwarding.js';
import { instructionsKey, sameInstructions, type FlowSpec } from '../../controller/core/flows.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { decodeMessage } from '../../src/openflow/decode/index.js';

t.test('sameInstructions agrees with instructionsKey, on flows as sent and as read back', async (t) => {
  const names = ['b0', 'b1', 'b2', 'b3'];
  const { fabric } = buildFabric(names, [['b1', 'b0'], ['b2', 'b1'], ['b3', 'b1'], ['b3', 'b0']]);
  const endpoints = names.map((b, i) => ({ ...ep(`e${i}`, i + 1, '', 0), at: { bridge: b, ofport: 1 + (i % 2) } }));
  const demand = new BridgeMacs();
  for (const e of endpoints) for (const b of names) if (b !== e.at.bridge) demand.add(b, e.mac);
  const migrations: MigrationInProgress[] = [{ name: 'e0', mac: endpoints[0]!.mac, from: { bridge: 'b0', ofport: 1 }, to: { bridge: 'b3', ofport: 7 }, hold: true }];
  const flows: FlowSpec[] = [...computeDesiredState({ fabric, endpoints, demand, migrations }).values()].flatMap((s) => s.flows);
  t.ok(flows.length > 40, `${flows.length} flows`);
  let readBack = 0;
  for (const f of flows) {
    const msg = decodeMessage(encodeMessage({ type: 'FLOW_MOD', xid: 1, cookie: f.cookie, cookieMask: 0n, tableId: f.tableId, command: 'ADD', idleTimeout: 0, hardTimeout: 0, priority: f.priority, bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0, match: f.match, instructions: f.instructions }));
    if (msg.type !== 'FLOW_MOD') throw new Error('not a FLOW_MOD');
    if (sameInstructions(msg.instructions, f.instructions) && instructionsKey(msg.instructions) === instructionsKey(f.instructions)) readBack++;
  }
  t.equal(readBack, flows.length, 'every flow read back has the same instructions by both');
  let pairs = 0;
  let disagree = 0;
  for (let i = 0; i < flows.length; i++) {
    for (let j = i + 1; j < flows.length; j += 7) {
      pairs++;
      if (sameInstructions(flows[i]!.instructions, flows[j]!.instructions) !== (instructionsKey(flows[i]!.instructions) === instructionsKey(flows[j]!.instructions))) disagree++;
    }
  }
  t.equal(disagree, 0, `agree on ${pairs} pairs`);
  t.notOk(sameInstructions([{ type: 'GOTO_TABLE', tableId: 1 }], [{ type: 'GOTO_TABLE', tableId: 2 }]), 'another table');
  t.ok(sameInstructions([{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 3, maxLen: 0 }] }], [{ actions: [{ maxLen: 0, port: 3, type: 'OUTPUT' }], type: 'APPLY_ACTIONS' }]), 'key order is free');
});
