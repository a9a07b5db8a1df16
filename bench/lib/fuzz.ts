/**
 * Fuzzing of the OpenFlow codec: mutation of well-formed messages, and the checks one case must
 * pass. Shared by test/openflow/fuzz.test.ts (a bounded run) and bench/fuzz-openflow.ts (a long
 * run). Everything here is synchronous and deterministic: case `i` of seed `s` is always the same
 * bytes, so a failure is replayed from the two numbers alone (see fuzz-campaign.ts for the
 * worker and watchdog that turn "never hangs" into a check).
 */
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { OpenFlowError } from '../../src/openflow/errors.js';
import { MessageFramer } from '../../src/openflow/framer.js';
import type { Message } from '../../src/openflow/types/index.js';
import { Prng, caseSeed } from './prng.js';

/** One corpus entry: a well-formed message and where it came from. */
export interface CorpusEntry {
  label: string;
  bytes: Buffer;
}

export interface FuzzCase {
  index: number;
  /** Index into the corpus of the message this case was made from. */
  base: number;
  /** The mutations applied, in order (for the failure report). */
  ops: string[];
  bytes: Buffer;
}

/** What one case did, when it did not fail. */
export type CaseOutcome =
  /** Decoded; re-encoded; the re-encoding decoded to the same object and bytes. */
  | { kind: 'decoded'; type: string }
  /** decodeMessage threw OpenFlowError: `code` is "TYPE/CODE". */
  | { kind: 'rejected'; code: string }
  /** Decoded, but encodeMessage refused the object with an OpenFlowError. */
  | { kind: 'encode-rejected'; type: string; code: string };

export type FailureStage = 'decode' | 'encode' | 'redecode' | 'unstable' | 'slow' | 'hang' | 'framer';

/** A case that broke a rule: anything here is a codec bug (or a framer bug). */
export interface FuzzFailure {
  stage: FailureStage;
  seed: number;
  index: number;
  baseLabel: string;
  ops: string[];
  hex: string;
  error: string;
}

const HEADER = 8;
const MAX_LEN = 0xffff;

// ---------------------------------------------------------------------------------------------
// Mutations. Each takes the current bytes and returns new ones (never modifies its input).

type Mutator = (rng: Prng, buf: Buffer, corpus: readonly CorpusEntry[]) => Buffer;

const INTERESTING_U8 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x10, 0x7f, 0x80, 0xfe, 0xff];

/** A position in the body if there is one (mutating the header is mostly a waste of cases). */
function bodyPos(rng: Prng, len: number): number {
  if (len <= HEADER || rng.chance(0.05)) return rng.below(Math.max(len, 1));
  return HEADER + rng.below(len - HEADER);
}

/**
 * Offsets whose 16-bit value looks like the length of a nested structure: a multiple of 4 that
 * fits in what is left of the message (with some slack). OpenFlow puts a length in every
 * match, OXM list, action, instruction, bucket, band, property and multipart entry.
 */
function lengthLikeOffsets(buf: Buffer): number[] {
  const out: number[] = [];
  for (let p = HEADER; p + 2 <= buf.length; p += 2) {
    const v = buf.readUInt16BE(p);
    if (v >= 4 && v % 4 === 0 && v <= buf.length - p + 16) out.push(p);
  }
  return out;
}

const mutators: Array<[name: string, weight: number, fn: Mutator]> = [
  ['flip-bits', 14, (rng, buf) => {
    const out = Buffer.from(buf);
    const n = rng.range(1, 4);
    for (let i = 0; i < n && out.length > 0; i++) out[bodyPos(rng, out.length)]! ^= 1 << rng.below(8);
    return out;
  }],
  ['set-bytes', 10, (rng, buf) => {
    const out = Buffer.from(buf);
    const n = rng.range(1, 4);
    for (let i = 0; i < n && out.length > 0; i++) {
      out[bodyPos(rng, out.length)] = rng.chance(0.7) ? rng.pick(INTERESTING_U8) : rng.below(256);
    }
    return out;
  }],
  ['edit-len16', 18, (rng, buf) => {
    if (buf.length < HEADER + 2) return Buffer.from(buf);
    const out = Buffer.from(buf);
    const cands = lengthLikeOffsets(out);
    const p = cands.length > 0 && rng.chance(0.85) ? rng.pick(cands) : HEADER + 2 * rng.below((out.length - HEADER) >> 1);
    const v = out.readUInt16BE(p);
    const left = out.length - p;
    const choices = [0, 1, 3, 4, 5, 7, 8, 12, 16, v - 1, v + 1, v - 4, v + 4, v - 8, v + 8, v * 2, left, left + 1,
      left - 1, 0x7fff, 0xfff8, 0xffff, rng.below(0x10000)];
    out.writeUInt16BE(rng.pick(choices) & 0xffff, p);
    return out;
  }],
  ['edit-len8', 8, (rng, buf) => {
    // OXM TLVs carry a one-byte length; so do several small fields next to lengths.
    if (buf.length <= HEADER) return Buffer.from(buf);
    const out = Buffer.from(buf);
    const p = bodyPos(rng, out.length);
    const v = out[p]!;
    out[p] = rng.pick([0, 1, 2, 3, 4, 5, 6, 8, 12, 16, 32, 0x7f, 0x80, 0xff, v + 1, v - 1, v + 4, v - 4]) & 0xff;
    return out;
  }],
  ['truncate', 12, (rng, buf) => {
    if (buf.length === 0) return Buffer.from(buf);
    const len = rng.chance(0.9) && buf.length > HEADER ? rng.range(HEADER, buf.length - 1) : rng.below(buf.length);
    return Buffer.from(buf.subarray(0, len));
  }],
  ['extend', 5, (rng, buf) => {
    const n = rng.range(1, 64);
    return Buffer.concat([buf, rng.chance(0.5) ? Buffer.alloc(n) : rng.bytes(n)]);
  }],
  ['insert', 8, (rng, buf) => {
    const p = bodyPos(rng, buf.length + 1);
    const n = rng.pick([1, 2, 4, 8, 8, 16, rng.range(1, 32)]);
    const ins = rng.chance(0.4) ? Buffer.alloc(n) : rng.chance(0.3) ? Buffer.alloc(n, 0xff) : rng.bytes(n);
    return Buffer.concat([buf.subarray(0, p), ins, buf.subarray(p)]);
  }],
  ['delete', 8, (rng, buf) => {
    if (buf.length <= HEADER) return Buffer.from(buf);
    const p = bodyPos(rng, buf.length);
    const n = Math.min(buf.length - p, rng.pick([1, 2, 4, 8, 8, 16, rng.range(1, 64)]));
    return Buffer.concat([buf.subarray(0, p), buf.subarray(p + n)]);
  }],
  ['duplicate', 5, (rng, buf) => {
    if (buf.length <= HEADER) return Buffer.from(buf);
    const p = bodyPos(rng, buf.length);
    const n = Math.min(buf.length - p, rng.pick([4, 8, 16, 24, 32, rng.range(1, 96)]));
    const q = bodyPos(rng, buf.length + 1);
    return Buffer.concat([buf.subarray(0, q), buf.subarray(p, p + n), buf.subarray(q)]);
  }],
  ['splice', 7, (rng, buf, corpus) => {
    // Head of this message, tail of another: nested structures of one kind meet another's.
    const other = rng.pick(corpus).bytes;
    const cut = bodyPos(rng, buf.length + 1);
    const from = rng.below(other.length + 1);
    return Buffer.concat([buf.subarray(0, cut), other.subarray(from)]);
  }],
  ['overlay', 5, (rng, buf, corpus) => {
    const other = rng.pick(corpus).bytes;
    if (buf.length <= HEADER || other.length === 0) return Buffer.from(buf);
    const out = Buffer.from(buf);
    const src = rng.below(other.length);
    const dst = bodyPos(rng, out.length);
    other.copy(out, dst, src, src + Math.min(rng.range(1, 64), out.length - dst));
    return out;
  }],
  ['retype', 6, (rng, buf) => {
    // Feeds one message's body to another message's decoder (or a multipart kind's).
    const out = Buffer.from(buf);
    if (out.length < 2) return out;
    if ((out[1] === 18 || out[1] === 19) && out.length >= 10 && rng.chance(0.6)) {
      out.writeUInt16BE(rng.chance(0.9) ? rng.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0xffff]) : rng.below(0x10000), 8);
    } else {
      out[1] = rng.chance(0.9) ? rng.below(30) : rng.below(256);
    }
    return out;
  }],
  ['version', 2, (rng, buf) => {
    const out = Buffer.from(buf);
    if (out.length > 0) out[0] = rng.pick([0, 1, 2, 3, 5, 6, 0x7f, 0xff]);
    return out;
  }],
];

const totalWeight = mutators.reduce((s, [, w]) => s + w, 0);

function pickMutator(rng: Prng): [string, Mutator] {
  let x = rng.below(totalWeight);
  for (const [name, w, fn] of mutators) {
    if (x < w) return [name, fn];
    x -= w;
  }
  throw new Error('unreachable');
}

/**
 * Case `index` of campaign `seed`: a corpus message with one to three mutations. Most cases get
 * their header length set to the real length afterwards, so they reach the body decoders; some
 * keep a lying header length (or one edited on purpose) to exercise the header check.
 */
export function generateCase(corpus: readonly CorpusEntry[], seed: number, index: number): FuzzCase {
  const rng = new Prng(caseSeed(seed, index));
  const base = rng.below(corpus.length);
  let bytes = corpus[base]!.bytes;
  const ops: string[] = [];
  if (rng.chance(0.02)) return { index, base, ops: ['none'], bytes: Buffer.from(bytes) };
  const n = 1 + (rng.chance(0.45) ? 1 : 0) + (rng.chance(0.2) ? 1 : 0);
  for (let i = 0; i < n; i++) {
    const [name, fn] = pickMutator(rng);
    bytes = fn(rng, bytes, corpus);
    ops.push(name);
  }
  if (bytes.length > MAX_LEN) bytes = bytes.subarray(0, MAX_LEN);
  if (bytes.length >= 4) {
    const r = rng.below(100);
    if (r < 88) {
      bytes.writeUInt16BE(bytes.length, 2);
    } else if (r < 94) {
      const v = rng.pick([0, 1, 7, 8, bytes.length - 1, bytes.length + 1, bytes.length + 8, 0xffff]);
      bytes.writeUInt16BE(Math.max(0, Math.min(0xffff, v)), 2);
      ops.push('header-len');
    } else {
      ops.push('header-len-unfixed');
    }
  }
  return { index, base, ops, bytes: Buffer.from(bytes) };
}

// ---------------------------------------------------------------------------------------------
// The checks.

/**
 * Deep equality of decoded messages (plain objects, arrays, Buffers, bigints, numbers,
 * strings, booleans). util.isDeepStrictEqual gives the same answer for such data but takes
 * about twice as long, and the check runs on every decoded case.
 */
export function sameMessage(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameMessage(a[i], b[i])) return false;
    return true;
  }
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!sameMessage((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Thrown by `runCase` when a rule is broken. */
export class CaseFailure extends Error {
  constructor(
    readonly stage: FailureStage,
    message: string,
  ) {
    super(message);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return `non-Error thrown: ${String(err)}`;
}

export function errorKey(err: OpenFlowError): string {
  return `${err.typeName}/${err.codeName}`;
}

/**
 * Runs the rules on one input:
 *  - decodeMessage returns a message or throws OpenFlowError (anything else: 'decode');
 *  - encodeMessage of what it returned returns bytes or throws OpenFlowError ('encode');
 *  - those bytes decode without error ('redecode') to a deep-equal message that encodes to the
 *    same bytes again ('unstable'): the codec reaches a fixed point after one pass.
 */
export function runCase(bytes: Buffer): CaseOutcome {
  let msg: Message;
  try {
    msg = decodeMessage(bytes);
  } catch (err) {
    if (err instanceof OpenFlowError) return { kind: 'rejected', code: errorKey(err) };
    throw new CaseFailure('decode', `decodeMessage threw a non-OpenFlowError: ${describe(err)}`);
  }
  let again: Buffer;
  try {
    again = encodeMessage(msg);
  } catch (err) {
    if (err instanceof OpenFlowError) return { kind: 'encode-rejected', type: msg.type, code: errorKey(err) };
    throw new CaseFailure('encode', `encodeMessage of the decoded ${msg.type} threw a non-OpenFlowError: ${describe(err)}`);
  }
  let msg2: Message;
  try {
    msg2 = decodeMessage(again);
  } catch (err) {
    throw new CaseFailure('redecode', `our own encoding of the decoded ${msg.type} does not decode: ${describe(err)}\n` +
      `  re-encoded: ${again.toString('hex')}`);
  }
  if (!sameMessage(msg2, msg)) {
    throw new CaseFailure('unstable', `decode(encode(m)) differs from m for ${msg.type}\n` +
      `  re-encoded: ${again.toString('hex')}`);
  }
  let third: Buffer;
  try {
    third = encodeMessage(msg2);
  } catch (err) {
    throw new CaseFailure('unstable', `encode failed on the second pass of ${msg.type}: ${describe(err)}`);
  }
  if (!third.equals(again)) {
    throw new CaseFailure('unstable', `encode(decode(encode(m))) differs from encode(m) for ${msg.type}\n` +
      `  first:  ${again.toString('hex')}\n  second: ${third.toString('hex')}`);
  }
  return { kind: 'decoded', type: msg.type };
}

// ---------------------------------------------------------------------------------------------
// Framer: a stream of fuzz cases cut at random places must come out exactly as a plain
// sequential reading of the headers says, or fail with OpenFlowError at a bad header.

interface ReferenceFraming {
  messages: Buffer[];
  /** 'yes': a complete header with an invalid length follows the messages; 'maybe': only the
   * first 4-7 bytes of such a header (the framer may or may not look at them). */
  bad: 'yes' | 'maybe' | 'no';
  /** Bytes after the last complete message when not bad. */
  tail: number;
}

function referenceFraming(stream: Buffer, maxLength: number): ReferenceFraming {
  const messages: Buffer[] = [];
  let pos = 0;
  while (stream.length - pos >= HEADER) {
    const len = stream.readUInt16BE(pos + 2);
    if (len < HEADER || len > maxLength) return { messages, bad: 'yes', tail: stream.length - pos };
    if (stream.length - pos < len) break;
    messages.push(stream.subarray(pos, pos + len));
    pos += len;
  }
  const tail = stream.length - pos;
  if (tail >= 4 && tail < HEADER) {
    const len = stream.readUInt16BE(pos + 2);
    if (len < HEADER || len > maxLength) return { messages, bad: 'maybe', tail };
  }
  return { messages, bad: 'no', tail };
}

/** Pushes `stream` in random chunks through a fresh MessageFramer; throws CaseFailure on a rule break. */
export function checkFramer(stream: Buffer, rng: Prng): number {
  const maxLength = rng.chance(0.7) ? MAX_LEN : rng.range(HEADER, 2048);
  const ref = referenceFraming(stream, maxLength);
  const framer = new MessageFramer(maxLength);
  const got: Buffer[] = [];
  let thrown: unknown;
  let pos = 0;
  while (pos < stream.length) {
    const n = Math.min(stream.length - pos, rng.chance(0.2) ? rng.range(1, 9) : rng.range(1, 700));
    try {
      for (const m of framer.push(stream.subarray(pos, pos + n))) got.push(m);
    } catch (err) {
      thrown = err;
      break;
    }
    // A bad header after good messages of the same chunk: they were handed out, the error kept.
    if (framer.failure) {
      thrown = framer.failure;
      break;
    }
    pos += n;
  }
  const where = `maxLength ${maxLength}, ${stream.length}-byte stream`;
  for (let i = 0; i < got.length; i++) {
    const m = got[i]!;
    if (m.length < HEADER || m.readUInt16BE(2) !== m.length) {
      throw new CaseFailure('framer', `framer message ${i} has ${m.length} bytes but its header says ${m.length >= 4 ? m.readUInt16BE(2) : '?'} (${where})`);
    }
    const want = ref.messages[i];
    if (!want || !want.equals(m)) {
      throw new CaseFailure('framer', `framer message ${i} differs from the sequential reading (${where}):\n` +
        `  got  ${m.toString('hex')}\n  want ${want ? want.toString('hex') : '(none)'}`);
    }
  }
  if (thrown !== undefined) {
    if (!(thrown instanceof OpenFlowError)) {
      throw new CaseFailure('framer', `MessageFramer.push threw a non-OpenFlowError: ${describe(thrown)} (${where})`);
    }
    if (ref.bad === 'no') {
      throw new CaseFailure('framer', `MessageFramer.push threw on a stream with valid headers: ${thrown.message} (${where})`);
    }
    return got.length;
  }
  if (ref.bad === 'yes') {
    throw new CaseFailure('framer', `MessageFramer accepted a header with an invalid length after message ${ref.messages.length} (${where})`);
  }
  if (ref.bad === 'no') {
    if (got.length !== ref.messages.length) {
      throw new CaseFailure('framer', `framer gave ${got.length} messages, the sequential reading ${ref.messages.length} (${where})`);
    }
    if (framer.buffered !== ref.tail) {
      throw new CaseFailure('framer', `framer holds ${framer.buffered} bytes, the incomplete tail is ${ref.tail} (${where})`);
    }
  }
  return got.length;
}

// ---------------------------------------------------------------------------------------------
// A run over a range of case indices.

export interface FuzzStats {
  seed: number;
  cases: number;
  decoded: number;
  rejected: number;
  encodeRejected: number;
  /** How often each outcome key was seen ("BAD_MATCH/BAD_LEN", "encode BAD_ACTION/BAD_TYPE", ...). */
  codes: Record<string, number>;
  /** Decoded message types. */
  decodedTypes: Record<string, number>;
  framerStreams: number;
  framerMessages: number;
  failureCount: number;
  /** The first failures, in full. */
  failures: FuzzFailure[];
  slowestCaseMs: number;
  slowestCaseIndex: number;
  elapsedMs: number;
}

export interface FuzzRangeOptions {
  corpus: readonly CorpusEntry[];
  seed: number;
  start: number;
  count: number;
  /** A case slower than this is a failure ('slow'). */
  slowCaseMs: number;
  /** Cases per framer stream (0: no framer checks). */
  framerBatch: number;
  maxFailures?: number;
  /** Called with the index about to run, so a watchdog can name a hanging case. */
  onCase?: (index: number) => void;
}

export function emptyStats(seed: number): FuzzStats {
  return {
    seed, cases: 0, decoded: 0, rejected: 0, encodeRejected: 0, codes: {}, decodedTypes: {},
    framerStreams: 0, framerMessages: 0, failureCount: 0, failures: [], slowestCaseMs: 0,
    slowestCaseIndex: -1, elapsedMs: 0,
  };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export function fuzzRange(opts: FuzzRangeOptions): FuzzStats {
  const { corpus, seed, start, count, slowCaseMs, framerBatch } = opts;
  const maxFailures = opts.maxFailures ?? 20;
  const stats = emptyStats(seed);
  const t0 = performance.now();
  const fail = (stage: FailureStage, c: FuzzCase, error: string): void => {
    stats.failureCount++;
    if (stats.failures.length < maxFailures) {
      stats.failures.push({ stage, seed, index: c.index, baseLabel: corpus[c.base]!.label, ops: c.ops, hex: c.bytes.toString('hex'), error });
    }
  };
  let batch: Buffer[] = [];
  let batchFirst = start;
  for (let index = start; index < start + count; index++) {
    opts.onCase?.(index);
    const c = generateCase(corpus, seed, index);
    const ts = performance.now();
    try {
      const out = runCase(c.bytes);
      if (out.kind === 'decoded') {
        stats.decoded++;
        bump(stats.decodedTypes, out.type);
      } else if (out.kind === 'rejected') {
        stats.rejected++;
        bump(stats.codes, out.code);
      } else {
        stats.encodeRejected++;
        bump(stats.codes, `encode ${out.type} ${out.code}`);
      }
    } catch (err) {
      fail(err instanceof CaseFailure ? err.stage : 'decode', c, err instanceof Error ? err.message : String(err));
    }
    const ms = performance.now() - ts;
    if (ms > stats.slowestCaseMs) {
      stats.slowestCaseMs = ms;
      stats.slowestCaseIndex = index;
    }
    if (ms > slowCaseMs) {
      // A preempted thread or a GC pause also makes a case slow once: only a case that is slow
      // every time counts.
      let best = ms;
      for (let k = 0; k < 3 && best > slowCaseMs; k++) {
        const tr = performance.now();
        try {
          runCase(c.bytes);
        } catch {
          // already reported above
        }
        best = Math.min(best, performance.now() - tr);
      }
      if (best > slowCaseMs) fail('slow', c, `case took ${best.toFixed(1)} ms at best of 4 runs (limit ${slowCaseMs} ms)`);
    }
    stats.cases++;
    if (framerBatch > 0) {
      batch.push(c.bytes);
      if (batch.length === framerBatch || index === start + count - 1) {
        const rng = new Prng(caseSeed(seed ^ 0x5f3759df, batchFirst));
        try {
          stats.framerMessages += checkFramer(Buffer.concat(batch), rng);
        } catch (err) {
          stats.failureCount++;
          if (stats.failures.length < maxFailures) {
            stats.failures.push({
              stage: 'framer', seed, index: batchFirst, baseLabel: `stream of cases ${batchFirst}..${index}`, ops: [],
              hex: Buffer.concat(batch).toString('hex').slice(0, 4096),
              error: err instanceof Error ? err.message : String(err),
            });
          }
        }
        stats.framerStreams++;
        batch = [];
        batchFirst = index + 1;
      }
    }
  }
  stats.elapsedMs = performance.now() - t0;
  return stats;
}

/**
 * Environment settings that replay a failure: the one case, or for a framer failure the run
 * of cases that formed the stream (streams are cut every `framerBatch` cases from the start).
 */
export function reproHint(f: FuzzFailure, framerBatch: number): string {
  if (f.stage === 'framer') return `OFP_FUZZ_SEED=${f.seed} OFP_FUZZ_START=${f.index} OFP_FUZZ_CASES=${framerBatch}`;
  return `OFP_FUZZ_SEED=${f.seed} OFP_FUZZ_CASE=${f.index}`;
}

export function formatFailure(f: FuzzFailure, framerBatch: number): string {
  return `[${f.stage}] seed ${f.seed} case ${f.index} (from ${f.baseLabel}; ${f.ops.join(' + ')})\n` +
    `  replay: ${reproHint(f, framerBatch)}\n  input:  ${f.hex}\n  ${f.error.split('\n').join('\n  ')}`;
}
