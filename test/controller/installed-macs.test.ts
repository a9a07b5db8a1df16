/**
 * The installed model keeps every switch's flows of one MAC (eth_dst or eth_src in the match:
 * known sources, deliveries, ingress and relabel entries) in one MacFlows shared by the switches,
 * each identified by table, priority and match. Checked
 * against a plain map per switch keyed by flowKey (the model before): after random adds,
 * replacements, deletions, read-backs and forgotten switches, both hold the same flows, and a
 * full diff against a random desired state gives the same changes.
 */
import t from 'tap';
import {
  allInstalled, applyDiff, countInstalled, deleteInstalled, diffInstalled, emptyDiff, installedFlow, InstalledTables, setInstalled, type SwitchDiff,
} from '../../controller/core/diff.js';
import { flowKey, instructionsKey, type FlowSpec, type SwitchState } from '../../controller/core/flows.js';
import { EDGE_TABLE, LABEL_TABLE, Priority } from '../../controller/core/forwarding.js';
import { RuleKind, ruleCookie } from '../../controller/core/cookies.js';
import { seededRandom } from '../util/random.js';

const text = (f: FlowSpec) => `${flowKey(f)} ${f.cookie} ${instructionsKey(f.instructions)}`;
const texts = (flows: Iterable<FlowSpec>) => [...flows].map(text).sort();
const view = (d: SwitchDiff) => ({ add: texts(d.flowsToAdd), del: texts(d.flowsToDelete) });

t.test('shared MAC flows hold what a map per switch holds', async (t) => {
  const rand = seededRandom(5);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const bridges = ['b0', 'b1', 'b2', 'b3', 'b4'];
  const macs = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03', '02:00:00:00:00:0A'];
  // A pool of flows: per MAC its ingress entries (two variants shared by several switches, as
  // the forwarding code shares them), its local delivery, and a label-table delivery (not a slot).
  const pool: FlowSpec[] = [];
  for (const mac of macs) {
    const toMac = { fields: [{ field: 'eth_dst' as const, value: mac }] };
    for (const port of [5, 6]) pool.push({ tableId: EDGE_TABLE, priority: Priority.UNICAST, match: toMac, instructions: [{ type: 'GOTO_TABLE', tableId: port }], cookie: ruleCookie(RuleKind.INGRESS_ENTRY, mac) });
    pool.push({ tableId: EDGE_TABLE, priority: Priority.UNICAST, match: toMac, instructions: [{ type: 'APPLY_ACTIONS', actions: [{ type: 'OUTPUT', port: 7, maxLen: 0 }] }], cookie: ruleCookie(RuleKind.UNICAST, mac) });
    // Same table and priority, told apart by the rest of the match (and its field order).
    pool.push({ tableId: LABEL_TABLE, priority: Priority.UNICAST, match: { fields: [{ field: 'vlan_vid', value: 0x1005 }, { field: 'eth_dst', value: mac }] }, instructions: [], cookie: ruleCookie(RuleKind.DELIVER, mac) });
    pool.push({ tableId: LABEL_TABLE, priority: Priority.UNICAST, match: { fields: [{ field: 'eth_dst', value: mac }, { field: 'vlan_vid', value: 0x1006 }] }, instructions: [], cookie: ruleCookie(RuleKind.RELABEL, mac) });
    pool.push({ tableId: LABEL_TABLE, priority: Priority.UNICAST, match: { fields: [{ field: 'eth_dst', value: mac }, { field: 'vlan_vid', value: 0x1005 }] }, instructions: [{ type: 'GOTO_TABLE', tableId: 3 }], cookie: ruleCookie(RuleKind.RELABEL, mac) });
    for (const port of [4, 5]) pool.push({ tableId: 0, priority: Priority.KNOWN_SOURCE, match: { fields: [{ field: 'in_port', value: port }, { field: 'eth_src', value: mac }] }, instructions: [], cookie: ruleCookie(RuleKind.KNOWN_SOURCE, mac) });
  }
  // The same slot as read back from a switch: another match object, the MAC in upper case.
  const readBackCopy = (f: FlowSpec): FlowSpec => ({ ...f, match: { fields: f.match.fields.map((x) => (x.field === 'eth_dst' ? { ...x, value: String(x.value).toUpperCase() } : { ...x })) } });

  let checks = 0;
  for (let round = 0; round < 40; round++) {
    const tables = new InstalledTables();
    const reference = new Map<string, Map<string, FlowSpec>>();
    const sync = (b: string, state: SwitchState) => {
      tables.index(b, state);
      reference.set(b, new Map(state.flows.map((f) => [flowKey(f), f])));
    };
    for (const b of bridges) sync(b, { flows: [], groups: [], meters: [] });
    for (let step = 0; step < 60; step++) {
      const b = pick(bridges);
      const r = rand();
      if (!tables.has(b)) {
        sync(b, { flows: pool.filter(() => rand() < 0.3).map((f) => (rand() < 0.5 ? readBackCopy(f) : f)), groups: [], meters: [] });
      } else if (r < 0.45) {
        const f = pick(pool);
        setInstalled(tables.get(b)!, f);
        reference.get(b)!.set(flowKey(f), f);
      } else if (r < 0.7) {
        const f = pick(pool);
        deleteInstalled(tables.get(b)!, f);
        reference.get(b)!.delete(flowKey(f));
      } else if (r < 0.8) {
        tables.delete(b);
        reference.delete(b);
      } else {
        // A full diff against a random desired state, applied as the shell applies it.
        const desired: SwitchState = { flows: [], groups: [], meters: [] };
        const seen = new Set<string>(); // one flow per identity, as a desired state has
        for (const f of pool) if (rand() < 0.4 && !seen.has(flowKey(f))) (seen.add(flowKey(f)), desired.flows.push(f));
        // What the model before (a map per switch by flowKey) made of it.
        const ref = reference.get(b)!;
        const wantKeys = new Set(desired.flows.map(flowKey));
        const want: SwitchDiff = {
          flowsToAdd: desired.flows.filter((f) => { const cur = ref.get(flowKey(f)); return cur !== f && (!cur || cur.cookie !== f.cookie || instructionsKey(cur.instructions) !== instructionsKey(f.instructions)); }),
          flowsToDelete: [...ref].filter(([k]) => !wantKeys.has(k)).map(([, f]) => f),
          groupsToAdd: [], groupsToModify: [], groupsToDelete: [], metersToAdd: [], metersToModify: [], metersToDelete: [],
        };
        const got = diffInstalled(desired, tables.get(b)!);
        t.same(view(got), view(want), `round ${round} step ${step}: full diff on ${b}`);
        applyDiff(tables.get(b)!, got);
        reference.set(b, new Map(desired.flows.map((f) => [flowKey(f), f])));
        checks++;
      }
      for (const [name, ref] of reference) {
        const inst = tables.get(name)!;
        if (texts(allInstalled(inst)).join('\n') !== texts(ref.values()).join('\n') || countInstalled(inst) !== ref.size) {
          t.fail(`round ${round} step ${step}: ${name} holds ${texts(allInstalled(inst)).length} flows, the reference ${ref.size}`);
          return;
        }
        for (const f of pool) {
          const got = installedFlow(inst, f);
          if (got !== ref.get(flowKey(f))) {
            t.fail(`round ${round} step ${step}: ${name} slot of ${text(f)}`);
            return;
          }
        }
      }
      // Trimming the runs grown in place changes nothing they hold (checked at the next step).
      if (rand() < 0.15) tables.compact();
      if (rand() < 0.2) {
        tables.forgetNow();
        for (const name of bridges) if (!reference.has(name)) t.equal(tables.macs.countOn(name), 0, 'a forgotten switch holds no MAC flows');
      }
    }
  }
  t.ok(checks > 100, `${checks} full diffs compared`);
});

t.test('a MAC held by 1,000 switches (a gateway every bridge sends to)', async (t) => {
  const mac = '02:00:00:00:0f:01';
  const toMac = { fields: [{ field: 'eth_dst' as const, value: mac }] };
  const entry = (port: number): FlowSpec => ({ tableId: EDGE_TABLE, priority: Priority.UNICAST, match: toMac, instructions: [{ type: 'GOTO_TABLE', tableId: port }], cookie: ruleCookie(RuleKind.INGRESS_ENTRY, mac) });
  const shared = entry(2);
  const bicast = entry(3);
  const relabel: FlowSpec = { tableId: LABEL_TABLE, priority: Priority.UNICAST, match: { fields: [{ field: 'vlan_vid', value: 0x1007 }, { field: 'eth_dst', value: mac }] }, instructions: [], cookie: ruleCookie(RuleKind.RELABEL, mac) };
  const tables = new InstalledTables();
  const bridges = Array.from({ length: 1000 }, (_, i) => `s${i}`);
  // As the start-up installs it: one switch after another, every one the shared entry, every
  // tenth also a relabel entry, every seventh its own variant of the entry instead.
  const expected = new Map<string, FlowSpec[]>();
  for (const [i, b] of bridges.entries()) {
    const inst = tables.index(b, { flows: [], groups: [], meters: [] });
    const flows = [i % 7 === 0 ? bicast : shared, ...(i % 10 === 0 ? [relabel] : [])];
    applyDiff(inst, { ...emptyDiff(), flowsToAdd: flows });
    expected.set(b, flows);
  }
  const check = (when: string) => {
    for (const [b, flows] of expected) {
      const inst = tables.get(b)!;
      if (countInstalled(inst) !== flows.length || installedFlow(inst, shared) !== flows[0] || installedFlow(inst, relabel) !== flows.find((f) => f === relabel)) {
        t.fail(`${when}: ${b} holds ${texts(allInstalled(inst)).join('; ')}`);
        return;
      }
    }
    t.pass(`${when}: each of ${expected.size} switches holds its flows of the MAC`);
  };
  check('installed');
  tables.compact();
  check('compacted');
  // The seventh switches' variants replaced by the shared entry, the relabel entries deleted.
  for (const [i, b] of bridges.entries()) {
    const inst = tables.get(b)!;
    if (i % 7 === 0) setInstalled(inst, shared);
    if (i % 10 === 0) deleteInstalled(inst, relabel);
    expected.set(b, [shared]);
  }
  check('replaced and deleted');
  // Half the switches disconnect: their flows are forgotten, the others' kept.
  for (const b of bridges.slice(0, 500)) {
    tables.delete(b);
    expected.delete(b);
  }
  tables.compact();
  t.same(bridges.slice(0, 500).filter((b) => tables.macs.countOn(b) > 0), [], 'the disconnected switches hold no MAC flows');
  check('half forgotten');
  // A full diff on one of the rest: the shared entry is held, nothing to add or delete.
  const d = diffInstalled({ flows: [shared], groups: [], meters: [] }, tables.get('s999')!);
  t.same(view(d), { add: [], del: [] }, 'a full diff finds the entry held');
});
