/**
 * OpenFlow codec throughput on one core (`npm run bench:openflow`): decode and encode of
 * PACKET_IN (128-byte frame, 4-field match), FLOW_MOD (5-field match, apply-actions +
 * goto-table) and a flow-stats reply with 100 entries. Each figure is the median of several
 * timed rounds after a warm-up, given both per second of wall-clock time and per second of CPU
 * time the process used: on a shared machine the scheduler gives us only part of a core, and the
 * CPU-time rate is what one dedicated core sustains. The targets are reported for both.
 *
 * Reference points timed in the same process, on the same bytes, so the codec's figures can be
 * read against this machine's speed at the moment of the run:
 *  - "Buffer copy": Buffer.from(bytes), the least any decode that keeps its own copy costs;
 *  - "JSON.parse"/"JSON.stringify": the same message as plain JSON text (bigints as decimal
 *    strings, bytes as hex), i.e. what the built-in, native-code parser costs for equal content.
 * A ratio above 1 means the codec is faster than the reference.
 */
import { decodeMessage } from '../src/openflow/decode/index.js';
import { encodeMessage, encodeMessageInto } from '../src/openflow/encode/index.js';
import type { Message } from '../src/openflow/types/index.js';
import { BufferWriter } from '../src/openflow/writer.js';
import { flowMod, flowStatsReply, packetIn } from './lib/samples.js';
import { consume, describeMachine, fmtRate, measure, sinkValue, type Measurement } from './lib/timing.js';

interface Case {
  name: string;
  msg: Message;
  /** Messages/s wanted each way (undefined: no target). */
  target?: number;
}

const cases: Case[] = [
  { name: 'PACKET_IN', msg: packetIn(), target: 1_000_000 },
  { name: 'FLOW_MOD', msg: flowMod(), target: 1_000_000 },
  { name: 'flow-stats reply ×100', msg: flowStatsReply(100) },
];

/** The message as plain JSON: bigints as decimal strings, Buffers as hex. */
function plainJson(m: Message): string {
  return JSON.stringify(m, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return Buffer.from((v as { data: number[] }).data).toString('hex');
    }
    return v;
  });
}

interface Row {
  label: string;
  bytes: number;
  m: Measurement;
}

function main(): number {
  const quick = process.argv.includes('--quick');
  const opts = quick ? { warmupMs: 100, rounds: 3, roundMs: 100 } : { warmupMs: 400, rounds: 9, roundMs: 300 };
  console.log(`OpenFlow 1.3 codec benchmark (one core; median of ${opts.rounds} rounds of ${opts.roundMs} ms after ${opts.warmupMs} ms warm-up)`);
  console.log(describeMachine());
  const rows: Row[] = [];
  const verdicts: string[] = [];
  const writer = new BufferWriter(1 << 16);
  for (const c of cases) {
    const bytes = encodeMessage(c.msg);
    const len = bytes.length;
    const decoded = decodeMessage(bytes);
    const json = plainJson(c.msg);
    const plain = JSON.parse(json) as unknown;

    const decode = measure(`${c.name} decode`, (n) => {
      for (let i = 0; i < n; i++) consume(decodeMessage(bytes).xid);
    }, opts);
    const encode = measure(`${c.name} encode`, (n) => {
      for (let i = 0; i < n; i++) consume(encodeMessage(decoded).length);
    }, opts);
    // The batched form a controller uses to send many messages with one write.
    const encodeInto = measure(`${c.name} encode into a reused writer`, (n) => {
      for (let i = 0; i < n; i++) {
        if (writer.pos > 60_000) writer.reset();
        encodeMessageInto(writer, decoded);
      }
      consume(writer.pos);
    }, opts);
    const copy = measure(`${c.name} Buffer copy (reference)`, (n) => {
      for (let i = 0; i < n; i++) consume(Buffer.from(bytes).length);
    }, opts);
    const jparse = measure(`${c.name} JSON.parse (reference)`, (n) => {
      for (let i = 0; i < n; i++) consume((JSON.parse(json) as { xid: number }).xid);
    }, opts);
    const jstr = measure(`${c.name} JSON.stringify (reference)`, (n) => {
      for (let i = 0; i < n; i++) consume(JSON.stringify(plain).length);
    }, opts);

    rows.push({ label: `${c.name} decode`, bytes: len, m: decode });
    rows.push({ label: `${c.name} encode (encodeMessage)`, bytes: len, m: encode });
    rows.push({ label: `${c.name} encode (encodeMessageInto)`, bytes: len, m: encodeInto });
    rows.push({ label: `${c.name} ref: Buffer copy`, bytes: len, m: copy });
    rows.push({ label: `${c.name} ref: JSON.parse (${json.length} chars)`, bytes: len, m: jparse });
    rows.push({ label: `${c.name} ref: JSON.stringify`, bytes: len, m: jstr });

    console.log(`\n${c.name}: ${len} bytes on the wire`);
    console.log(`  ${''.padEnd(56)} ${'wall msg/s'.padStart(11)} ${'MB/s'.padStart(9)} ${'per CPU-s'.padStart(11)} ${'CPU share'.padStart(9)}   rounds (wall)`);
    for (const r of rows.slice(-6)) {
      const mbs = (r.m.opsPerSec * r.bytes) / 1e6;
      console.log(`  ${r.label.padEnd(56)} ${fmtRate(r.m.opsPerSec).padStart(11)} ${mbs.toFixed(1).padStart(9)} ` +
        `${fmtRate(r.m.opsPerCpuSec).padStart(11)} ${`${Math.round(r.m.cpuShare * 100)}%`.padStart(9)}   ` +
        `${fmtRate(r.m.minOpsPerSec)}–${fmtRate(r.m.maxOpsPerSec)}`);
    }
    console.log(`  ratios (wall-clock, same conditions): decode ÷ JSON.parse = ${(decode.opsPerSec / jparse.opsPerSec).toFixed(2)}, ` +
      `decode ÷ Buffer copy = ${(decode.opsPerSec / copy.opsPerSec).toFixed(2)}, ` +
      `encode ÷ JSON.stringify = ${(encode.opsPerSec / jstr.opsPerSec).toFixed(2)}`);
    if (c.target !== undefined) {
      for (const [way, m] of [['decode', decode], ['encode', encode]] as const) {
        const wall = m.opsPerSec >= c.target;
        const cpu = m.opsPerCpuSec >= c.target;
        verdicts.push(`${c.name} ${way}: ${fmtRate(m.opsPerSec)} msg/s wall-clock (${wall ? 'MET' : 'NOT MET'}), ` +
          `${fmtRate(m.opsPerCpuSec)} msg per CPU-second (${cpu ? 'MET' : 'NOT MET'}); target ${fmtRate(c.target)}`);
      }
    }
  }
  console.log('\ntargets, one core (encode judged on encodeMessage, which returns a new Buffer per message):');
  for (const v of verdicts) console.log(`  ${v}`);
  consume(sinkValue());
  return 0;
}

process.exitCode = main();
