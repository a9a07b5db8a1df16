/**
 * Worker side of a fuzz campaign (see fuzz-campaign.ts): runs its range of cases in slices,
 * posting each slice's statistics, and stores the index of the case it is about to run in
 * shared memory so the parent can name the case if this thread stops making progress.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzRange, type CorpusEntry } from './fuzz.js';

export interface WorkerInput {
  corpus: Array<{ label: string; bytes: Uint8Array }>;
  seed: number;
  start: number;
  count: number;
  slowCaseMs: number;
  framerBatch: number;
  /** Cases per progress message (a multiple of framerBatch keeps the streams aligned). */
  slice: number;
  /** [index of the case being run, slices done]. */
  progress: SharedArrayBuffer;
}

const input = workerData as WorkerInput;
const corpus: CorpusEntry[] = input.corpus.map((e) => ({
  label: e.label,
  bytes: Buffer.from(e.bytes.buffer, e.bytes.byteOffset, e.bytes.byteLength),
}));
const progress = new Int32Array(input.progress);
const end = input.start + input.count;
for (let from = input.start; from < end; from += input.slice) {
  const stats = fuzzRange({
    corpus,
    seed: input.seed,
    start: from,
    count: Math.min(input.slice, end - from),
    slowCaseMs: input.slowCaseMs,
    framerBatch: input.framerBatch,
    onCase: (i) => Atomics.store(progress, 0, i),
  });
  Atomics.add(progress, 1, 1);
  parentPort!.postMessage({ kind: 'slice', stats });
}
parentPort!.postMessage({ kind: 'done' });
