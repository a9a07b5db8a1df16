/**
 * JSON throughput on one core (`npm run bench:json`), on the two paths that carry traffic:
 *  - OVSDB: JSON texts cut from the socket stream and parsed (JsonStreamParser), and requests
 *    written (stringifyJson): a monitor update of 100 Interface rows (small integers: the
 *    stream parser hands it to JSON.parse), the same update with 64-bit counters (the lossless
 *    parser's path), and a transact reply;
 *  - OpenFlow JSON form: `vino-ofp encode` input, JSON lines of 100 FLOW_MODs and a flow-stats
 *    reply with 100 entries, parsed (parseJsonSequence) and turned into messages
 *    (messageFromJSON), and messages written back (stringifyMessage).
 * Each figure is the median of several timed rounds after a warm-up, per second of wall-clock
 * time and per second of CPU time (on a shared machine the CPU-time rate is the steadier one).
 */
import { parseJsonSequence } from '../src/json/index.js';
import { messageFromJSON, stringifyMessage } from '../src/openflow/json.js';
import type { Message } from '../src/openflow/types/index.js';
import { JsonStreamParser } from '../src/ovsdb/json-stream.js';
import { stringifyJson, type Json } from '../src/ovsdb/json.js';
import { flowMod, flowStatsReply } from './lib/samples.js';
import { consume, describeMachine, fmtRate, measure, type Measurement } from './lib/timing.js';

function uuidOf(i: number): string {
  const h = (i * 2654435761 >>> 0).toString(16).padStart(8, '0');
  return `${h}-${h.slice(0, 4)}-4${h.slice(1, 4)}-8${h.slice(5, 8)}-${h}${h.slice(0, 4)}`;
}

/** An `update` notification for `rows` Interface rows, as ovsdb-server sends it. */
function monitorUpdate(rows: number, counterBase: bigint): string {
  const table: Record<string, Json> = {};
  for (let i = 0; i < rows; i++) {
    const c = (k: number): bigint | number => {
      const v = counterBase + BigInt(i * 1000 + k);
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? v : Number(v);
    };
    table[uuidOf(i)] = {
      new: {
        name: `vx${i}`, type: 'vxlan', ofport: 10 + i, admin_state: 'up', link_state: 'up', mtu: 1450,
        mac_in_use: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        options: ['map', [['remote_ip', `192.0.2.${i % 250}`], ['key', 'flow'], ['dst_port', '4789']]],
        external_ids: ['map', [['vino-node', `n${i}`], ['vino-link', `l${i}`]]],
        statistics: ['map', [['rx_bytes', c(1)], ['rx_packets', c(2)], ['tx_bytes', c(3)], ['tx_packets', c(4)], ['rx_dropped', 0], ['tx_errors', 0]]],
        ofport_request: ['set', []],
        _version: ['uuid', uuidOf(i + 100000)],
      },
    };
  }
  return stringifyJson({ method: 'update', params: ['mon-1', { Interface: table }], id: null });
}

/** The reply to a transact of insert, update, select (20 rows), mutate, comment. */
function transactReply(): string {
  const rows: Json[] = [];
  for (let i = 0; i < 20; i++) {
    rows.push({ _uuid: ['uuid', uuidOf(i)], name: `br${i}`, ports: ['set', [['uuid', uuidOf(i + 1)], ['uuid', uuidOf(i + 2)]]], datapath_id: '0000000000000001', other_config: ['map', [['disable-in-band', 'true']]] });
  }
  return stringifyJson({ id: 42, result: [{ uuid: ['uuid', uuidOf(7)] }, { count: 1 }, { rows }, { count: 3 }, {}], error: null });
}

interface Row {
  label: string;
  unit: string;
  m: Measurement;
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const opts = quick ? { warmupMs: 100, rounds: 3, roundMs: 100 } : { warmupMs: 400, rounds: 9, roundMs: 300 };
  console.log(`JSON benchmark (one core; median of ${opts.rounds} rounds of ${opts.roundMs} ms after ${opts.warmupMs} ms warm-up)`);
  console.log(describeMachine());
  const rows: Row[] = [];

  const ovsdb: [string, string][] = [
    ['OVSDB monitor update, 100 rows', monitorUpdate(100, 1000n)],
    ['OVSDB monitor update, 100 rows, 64-bit counters', monitorUpdate(100, 1n << 60n)],
    ['OVSDB transact reply', transactReply()],
  ];
  for (const [name, text] of ovsdb) {
    const bytes = Buffer.from(text);
    const [value] = new JsonStreamParser().push(bytes) as [Json];
    rows.push({ label: `${name}: parse (${bytes.length} B)`, unit: 'msg', m: measure(`${name} parse`, (n) => {
      for (let i = 0; i < n; i++) consume(new JsonStreamParser().push(bytes).length);
    }, opts) });
    rows.push({ label: `${name}: stringify`, unit: 'msg', m: measure(`${name} stringify`, (n) => {
      for (let i = 0; i < n; i++) consume(stringifyJson(value).length);
    }, opts) });
  }

  const openflow: [string, Message[]][] = [
    ['OpenFlow 100 FLOW_MOD lines', Array.from({ length: 100 }, (_, i) => flowMod(i))],
    ['OpenFlow flow-stats reply ×100', [flowStatsReply(100)]],
  ];
  for (const [name, msgs] of openflow) {
    const text = msgs.map((m) => stringifyMessage(m)).join('\n') + '\n';
    rows.push({ label: `${name}: parse (${text.length} chars)`, unit: 'text', m: measure(`${name} parse`, (n) => {
      for (let i = 0; i < n; i++) for (const item of parseJsonSequence(text)) consume(item.line);
    }, opts) });
    rows.push({ label: `${name}: parse + messageFromJSON`, unit: 'text', m: measure(`${name} decode`, (n) => {
      for (let i = 0; i < n; i++) for (const item of parseJsonSequence(text)) consume(messageFromJSON(item.value).xid);
    }, opts) });
    rows.push({ label: `${name}: stringifyMessage`, unit: 'text', m: measure(`${name} stringify`, (n) => {
      for (let i = 0; i < n; i++) for (const m of msgs) consume(stringifyMessage(m).length);
    }, opts) });
  }

  console.log(`\n  ${''.padEnd(66)} ${'wall /s'.padStart(10)} ${'per CPU-s'.padStart(10)} ${'CPU share'.padStart(9)}`);
  for (const r of rows) {
    console.log(`  ${r.label.padEnd(66)} ${fmtRate(r.m.opsPerSec).padStart(10)} ${fmtRate(r.m.opsPerCpuSec).padStart(10)} ${`${Math.round(r.m.cpuShare * 100)}%`.padStart(9)}`);
  }
}

main();
