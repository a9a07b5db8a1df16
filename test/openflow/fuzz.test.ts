/**
 * Fuzzes the OpenFlow codec and framer with mutated and truncated messages (bench/lib/fuzz.ts
 * has the mutations and the rules). Seeded: the seed is printed, OFP_FUZZ_SEED sets it,
 * OFP_FUZZ_CASES the number of cases, OFP_FUZZ_START the first case index, and OFP_FUZZ_CASE
 * replays one case alone with its full details. Cases are derived from the corpus too (Ryu
 * vectors, test/fixtures/openflow captures, bench/lib/samples.ts), so a replay needs the same
 * corpus; every failure also prints its input bytes.
 */
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { decodeMessage } from '../../src/openflow/decode/index.js';
import { encodeMessage } from '../../src/openflow/encode/index.js';
import { fuzzCorpus, sampleCorpus } from '../../bench/lib/corpus.js';
import { runCampaign } from '../../bench/lib/fuzz-campaign.js';
import { CaseFailure, formatFailure, generateCase, runCase } from '../../bench/lib/fuzz.js';
import { seedFromEnv } from '../../bench/lib/prng.js';
import { allSampleMessages } from '../../bench/lib/samples.js';

const FRAMER_BATCH = 32;

function envInt(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${raw} is not a non-negative integer`);
  return n;
}

const { seed, fromEnv } = seedFromEnv('OFP_FUZZ_SEED');
const count = envInt('OFP_FUZZ_CASES', 150_000);
const start = envInt('OFP_FUZZ_START', 0);
const only = process.env['OFP_FUZZ_CASE'];
t.comment(`fuzz seed ${seed}${fromEnv ? ' (from OFP_FUZZ_SEED)' : ''}: replay with OFP_FUZZ_SEED=${seed}`);

const corpus = fuzzCorpus();

t.test('the corpus: Ryu vectors, OVS captures and our samples', async (t) => {
  t.ok(corpus.filter((e) => e.label.startsWith('ryu:')).length >= 100, 'Ryu vectors loaded');
  t.ok(corpus.length > 150, `${corpus.length} distinct messages to mutate`);
  // Our own samples must survive a round trip unchanged, or the fuzzer starts from bad input.
  const samples = allSampleMessages();
  const encoded = sampleCorpus();
  for (let i = 0; i < samples.length; i++) {
    const m = samples[i]!;
    const bytes = encoded[i]!.bytes;
    const back = decodeMessage(bytes);
    t.ok(isDeepStrictEqual(back, m), `${encoded[i]!.label}: decode(encode(m)) deep-equals m`);
    t.ok(encodeMessage(back).equals(bytes), `${encoded[i]!.label}: re-encodes byte for byte`);
  }
});

t.test('case generation is reproducible from (seed, index)', async (t) => {
  for (const index of [0, 1, 777, 99_999]) {
    const a = generateCase(corpus, seed, index);
    const b = generateCase(corpus, seed, index);
    t.ok(a.bytes.equals(b.bytes), `case ${index} regenerates identically`);
    t.same(a.ops, b.ops);
  }
  t.not(generateCase(corpus, seed, 1).bytes.toString('hex'), generateCase(corpus, seed ^ 1, 1).bytes.toString('hex'),
    'another seed gives another case');
});

if (only !== undefined) {
  t.test(`replay of case ${only}`, async (t) => {
    const c = generateCase(corpus, seed, Number(only));
    t.comment(`from ${corpus[c.base]!.label}, mutations ${c.ops.join(' + ')}`);
    t.comment(`input: ${c.bytes.toString('hex')}`);
    try {
      const out = runCase(c.bytes);
      t.pass(`outcome: ${JSON.stringify(out)}`);
    } catch (err) {
      t.fail(err instanceof CaseFailure ? `[${err.stage}] ${err.message}` : String(err));
    }
  });
} else {
  t.test(`${count} mutated messages through decode / encode / decode and the framer`, async (t) => {
    const stats = await runCampaign({ corpus, seed, start, count, framerBatch: FRAMER_BATCH, slowCaseMs: 250, stallMs: 10_000 });
    const rate = Math.round(stats.cases / (stats.elapsedMs / 1000));
    t.comment(`seed ${seed}: ${stats.cases} cases in ${(stats.elapsedMs / 1000).toFixed(1)} s (${rate}/s): ` +
      `${stats.decoded} decoded, ${stats.rejected} rejected, ${stats.encodeRejected} refused by the encoder; ` +
      `${stats.framerStreams} framer streams, ${stats.framerMessages} framed messages; slowest case ` +
      `${stats.slowestCaseMs.toFixed(2)} ms (#${stats.slowestCaseIndex})`);
    const top = Object.entries(stats.codes).sort((a, b) => b[1] - a[1]).slice(0, 12);
    t.comment(`most frequent errors: ${top.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    for (const f of stats.failures) t.comment(formatFailure(f, FRAMER_BATCH));
    t.equal(stats.failureCount, 0, `no case broke a rule (seed ${seed}; the first failures are printed above)`);
    t.equal(stats.cases, count, 'every case ran');
    // A fuzzer whose cases all die at the header check tests nothing: demand a real mix.
    t.ok(stats.decoded > count * 0.05, `at least 5% of cases decode (${stats.decoded})`);
    t.ok(stats.rejected > count * 0.3, `at least 30% are rejected (${stats.rejected})`);
    t.ok(Object.keys(stats.decodedTypes).length >= 25, `mutants of ${Object.keys(stats.decodedTypes).length} message types decoded`);
    t.ok(Object.keys(stats.codes).length >= 8, `${Object.keys(stats.codes).length} distinct error codes seen`);
    t.ok(stats.framerMessages > 0, 'the framer produced messages');
  });
}
