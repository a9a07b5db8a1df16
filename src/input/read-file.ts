/**
 * Reading an input file named on a command line, the same way for every command: a size
 * limit checked before anything is read (a 50 MB topology must not cost gigabytes of memory),
 * and one wording for failures, `cannot read FILE: REASON`.
 */
import { open } from 'node:fs/promises';

/** Default limit for topology files: far above any real overlay (24 nodes are ~4 KiB). */
export const DEFAULT_MAX_TOPOLOGY_BYTES = 16 * 1024 * 1024;

export interface ReadLimit {
  maxBytes: number;
  /** The option that raises the limit, named in the error (e.g. `--max-topology-bytes`). */
  option?: string;
}

/** An input file could not be read; `message` is the whole sentence to show. */
export class InputFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`cannot read ${file}: ${reason}`);
    this.name = 'InputFileError';
  }
}

/** The reason part for an fs error, in plain words for the common cases. */
export function readErrorReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return e.message ?? String(err);
  }
}

function tooLarge(file: string, size: string, limit: ReadLimit): InputFileError {
  const raise = limit.option ? `; raise the limit with ${limit.option} BYTES` : '';
  return new InputFileError(file, `${size} is larger than the limit of ${limit.maxBytes} bytes${raise}`);
}

/**
 * Reads FILE as UTF-8 text, refusing files above the limit: a regular file by its size before
 * reading, anything else (a pipe, /dev/stdin) while reading, stopping at the limit.
 * Throws InputFileError.
 */
export async function readInputFile(file: string, limit: ReadLimit): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw new InputFileError(file, readErrorReason(e));
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new InputFileError(file, 'is a directory');
    if (st.isFile() && st.size > limit.maxBytes) throw tooLarge(file, `its size, ${st.size} bytes,`, limit);
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      // Also for regular files: one may grow between stat and read.
      if (total > limit.maxBytes) throw tooLarge(file, `its content (more than ${limit.maxBytes} bytes so far)`, limit);
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw new InputFileError(file, readErrorReason(e));
  } finally {
    await handle.close();
  }
}

/** Parses a byte-count option value (plain digits, or with a K/M/G suffix for KiB/MiB/GiB). */
export function parseByteCount(text: string, option: string): number {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(text.trim());
  if (!m) throw new Error(`${option}: expected a number of bytes (e.g. 16777216 or 16M), got "${text}"`);
  const unit = (m[2] ?? '').charAt(0).toUpperCase();
  const n = Number(m[1]) * (unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${option}: expected a positive number of bytes, got "${text}"`);
  return n;
}
