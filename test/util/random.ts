/**
 * A small seeded PRNG (mulberry32) so randomised tests replay exactly: a failure report
 * carries its seed, and the same seed gives the same chunking again.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [min, max] from `rand`. */
export function randomInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

/** Splits `buf` into consecutive views of random sizes in [1, maxChunk]. */
export function randomChunks(buf: Buffer, rand: () => number, maxChunk: number): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const n = Math.min(buf.length - pos, randomInt(rand, 1, maxChunk));
    out.push(buf.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}
