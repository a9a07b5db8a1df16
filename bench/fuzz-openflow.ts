/**
 * Long fuzz run of the OpenFlow codec and framer: `node dist/bench/fuzz-openflow.js [N]`
 * (npm run fuzz = 1,000,000 cases). Same cases and rules as test/openflow/fuzz.test.ts.
 * OFP_FUZZ_SEED sets the seed (printed either way), OFP_FUZZ_START the first case index.
 * Prints the count of every error code seen, the throughput, and every failure with the
 * settings that replay it; exits 1 if any case broke a rule.
 */
import { fuzzCorpus } from './lib/corpus.js';
import { runCampaign } from './lib/fuzz-campaign.js';
import { formatFailure } from './lib/fuzz.js';
import { seedFromEnv } from './lib/prng.js';

const FRAMER_BATCH = 32;

function main(): Promise<number> | number {
  const arg = process.argv[2] ?? '1000000';
  const count = Number(arg.replace(/_/g, ''));
  if (!Number.isInteger(count) || count <= 0) {
    console.error(`usage: fuzz-openflow [N]   (N = number of cases, got ${JSON.stringify(arg)})`);
    return 2;
  }
  const start = Number(process.env['OFP_FUZZ_START'] ?? 0);
  const { seed, fromEnv } = seedFromEnv('OFP_FUZZ_SEED');
  const corpus = fuzzCorpus();
  console.log(`OpenFlow codec fuzz: ${count} cases from ${corpus.length} corpus messages, seed ${seed}` +
    `${fromEnv ? ' (OFP_FUZZ_SEED)' : ''}; replay with OFP_FUZZ_SEED=${seed}`);
  let lastPrint = performance.now();
  return runCampaign({
    corpus, seed, start, count, framerBatch: FRAMER_BATCH, slowCaseMs: 250, stallMs: 10_000,
    onProgress: (s) => {
      const now = performance.now();
      if (now - lastPrint < 5000) return;
      lastPrint = now;
      console.log(`  ${s.cases} cases, ${s.failureCount} failures`);
    },
  }).then((s) => {
    const secs = s.elapsedMs / 1000;
    console.log(`\n${s.cases} cases in ${secs.toFixed(1)} s: ${Math.round(s.cases / secs)} cases/s ` +
      `(each case = decode, and for the ${s.decoded + s.encodeRejected} that decode: encode, decode, encode; plus the framer)`);
    console.log(`  decoded and stable: ${s.decoded}   rejected by the decoder: ${s.rejected}   refused by the encoder: ${s.encodeRejected}`);
    console.log(`  framer: ${s.framerStreams} streams, ${s.framerMessages} messages framed`);
    console.log(`  slowest case: ${s.slowestCaseMs.toFixed(2)} ms (case ${s.slowestCaseIndex})`);
    console.log('\nerror codes seen (decoder rejections; "encode ..." = encoder refusals of a decoded message):');
    const rows = Object.entries(s.codes).sort((a, b) => b[1] - a[1]);
    const width = Math.max(...rows.map(([k]) => k.length), 10);
    for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${String(v).padStart(9)}`);
    console.log('\ndecoded message types:');
    for (const [k, v] of Object.entries(s.decodedTypes).sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(width)}  ${String(v).padStart(9)}`);
    if (s.failureCount > 0) {
      console.log(`\n${s.failureCount} FAILURES (first ${s.failures.length}):`);
      for (const f of s.failures) console.log(formatFailure(f, FRAMER_BATCH));
      return 1;
    }
    console.log('\nno failures');
    return 0;
  });
}

Promise.resolve(main()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
