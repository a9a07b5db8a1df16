/**
 * Runs a fuzz campaign in a worker thread under a watchdog. A decoder stuck in a loop cannot
 * be interrupted from its own thread, so the cases run in a worker that publishes the index of
 * the case it is on; if that index stops moving for `stallMs`, the worker is terminated and the
 * case is reported as a 'hang' with its bytes (regenerated here from seed and index).
 */
import { Worker } from 'node:worker_threads';
import { emptyStats, generateCase, type CorpusEntry, type FuzzStats } from './fuzz.js';
import type { WorkerInput } from './fuzz-worker.js';

export interface CampaignOptions {
  corpus: readonly CorpusEntry[];
  seed: number;
  start?: number;
  count: number;
  slowCaseMs?: number;
  stallMs?: number;
  framerBatch?: number;
  /** Called after each slice with the totals so far. */
  onProgress?: (total: FuzzStats) => void;
}

/** Adds slice statistics `s` into `total`. */
export function mergeStats(total: FuzzStats, s: FuzzStats, maxFailures = 20): void {
  total.cases += s.cases;
  total.decoded += s.decoded;
  total.rejected += s.rejected;
  total.encodeRejected += s.encodeRejected;
  for (const [k, v] of Object.entries(s.codes)) total.codes[k] = (total.codes[k] ?? 0) + v;
  for (const [k, v] of Object.entries(s.decodedTypes)) total.decodedTypes[k] = (total.decodedTypes[k] ?? 0) + v;
  total.framerStreams += s.framerStreams;
  total.framerMessages += s.framerMessages;
  total.failureCount += s.failureCount;
  for (const f of s.failures) if (total.failures.length < maxFailures) total.failures.push(f);
  if (s.slowestCaseMs > total.slowestCaseMs) {
    total.slowestCaseMs = s.slowestCaseMs;
    total.slowestCaseIndex = s.slowestCaseIndex;
  }
}

export function runCampaign(opts: CampaignOptions): Promise<FuzzStats> {
  const framerBatch = opts.framerBatch ?? 32;
  const start = opts.start ?? 0;
  const stallMs = opts.stallMs ?? 10_000;
  const progress = new SharedArrayBuffer(8);
  const progressView = new Int32Array(progress);
  Atomics.store(progressView, 0, start - 1);
  const input: WorkerInput = {
    corpus: opts.corpus.map((e) => ({ label: e.label, bytes: new Uint8Array(e.bytes) })),
    seed: opts.seed,
    start,
    count: opts.count,
    slowCaseMs: opts.slowCaseMs ?? 500,
    framerBatch,
    slice: framerBatch * Math.max(1, Math.floor(20_000 / framerBatch)),
    progress,
  };
  const total = emptyStats(opts.seed);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: input });
    let lastIndex = start - 1;
    let lastChange = performance.now();
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      total.elapsedMs = performance.now() - t0;
      if (err) reject(err);
      else resolve(total);
    };
    const watchdog = setInterval(() => {
      const index = Atomics.load(progressView, 0);
      const now = performance.now();
      if (index !== lastIndex) {
        lastIndex = index;
        lastChange = now;
        return;
      }
      if (now - lastChange < stallMs) return;
      // The worker is stuck on `index` (or on the framer check of the stream ending there).
      void worker.terminate();
      if (index < start) {
        finish(new Error(`fuzz worker made no progress within ${stallMs} ms of starting`));
        return;
      }
      const c = generateCase(opts.corpus, opts.seed, index);
      total.failureCount++;
      total.failures.push({
        stage: 'hang', seed: opts.seed, index, baseLabel: opts.corpus[c.base]!.label, ops: c.ops,
        hex: c.bytes.toString('hex'),
        error: `no progress for ${stallMs} ms on this case (or on the framer stream that ends with it)`,
      });
      finish();
    }, Math.min(500, stallMs / 4));
    worker.on('message', (m: { kind: 'slice'; stats: FuzzStats } | { kind: 'done' }) => {
      if (m.kind === 'slice') {
        mergeStats(total, m.stats);
        opts.onProgress?.(total);
      } else {
        finish();
      }
    });
    worker.on('error', (err) => finish(new Error(`fuzz worker crashed: ${err.stack ?? String(err)}`)));
    worker.on('exit', (code) => {
      if (!settled) finish(new Error(`fuzz worker exited with code ${code} before finishing`));
    });
  });
}
