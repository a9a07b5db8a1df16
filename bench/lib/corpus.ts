/**
 * Well-formed OpenFlow 1.3 messages to fuzz from: the Ryu test vectors (test/fixtures/ryu-of13),
 * the captures of real Open vSwitch traffic kept under test/fixtures/openflow, and every sample
 * message of samples.ts encoded by our encoder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { fixturePath, ryuVectorsDir } from '../../test/util/paths.js';
import type { CorpusEntry } from './fuzz.js';
import { allSampleMessages } from './samples.js';

/** The Ryu `.packet` files (one message each; the zero-byte truncation marker is skipped). */
export function ryuCorpus(): CorpusEntry[] {
  const dir = join(ryuVectorsDir(), 'packet');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.packet'))
    .sort()
    .map((f) => ({ label: `ryu:${f}`, bytes: readFileSync(join(dir, f)) }))
    .filter((e) => e.bytes.length >= 8);
}

/** A capture fixture written by test/openflow/ovs-crosscheck.test.ts. */
export interface CaptureFixture {
  description: string;
  ovsVersion: string;
  messages: Array<{ direction: 'controller-to-switch' | 'switch-to-controller'; source: string; hex: string }>;
}

/** test/fixtures/openflow; throws naming the path if it is missing (it is part of the repository). */
export function fixturesDir(): string {
  return fixturePath('openflow');
}

/** Messages of the OVS capture fixtures. */
export function captureCorpus(): CorpusEntry[] {
  const dir = fixturesDir();
  const out: CorpusEntry[] = [];
  for (const f of readdirSync(dir).filter((n) => n.startsWith('ovs-') && n.endsWith('.json')).sort()) {
    const fx = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CaptureFixture;
    for (const m of fx.messages) out.push({ label: `${f}: ${m.source}`, bytes: Buffer.from(m.hex, 'hex') });
  }
  return out;
}

/** Our sample messages, encoded. Throws (naming the message) if the encoder rejects one. */
export function sampleCorpus(): CorpusEntry[] {
  return allSampleMessages().map((m, i) => {
    const label = m.type === 'MULTIPART_REQUEST' || m.type === 'MULTIPART_REPLY' ? `${m.type} ${m.body.kind}` : m.type;
    try {
      return { label: `sample #${i} ${label}`, bytes: encodeMessage(m) };
    } catch (err) {
      throw new Error(`encoding sample #${i} (${label}) failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

/**
 * Everything above, without duplicates: messages that differ only in their xid (the captures
 * hold dozens of barriers and echoes) count once, so no kind crowds out the others.
 */
export function fuzzCorpus(): CorpusEntry[] {
  const seen = new Set<string>();
  const out: CorpusEntry[] = [];
  for (const e of [...ryuCorpus(), ...captureCorpus(), ...sampleCorpus()]) {
    const key = `${e.bytes.subarray(0, 4).toString('hex')}${e.bytes.subarray(8).toString('hex')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}
