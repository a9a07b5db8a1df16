/**
 * Entry points from text and files: parse (with positions), check, resolve. Problems carry the
 * line and column of the value they are about.
 */
import { DEFAULT_MAX_TOPOLOGY_BYTES, InputFileError, readInputFile } from '../input/read-file.js';
import { analyzeTopology, type Analysis } from './analyze.js';
import { parseJsonSource } from './json-source.js';
import { TopologyError, type PathSegment, type Problem } from './problems.js';
import type { ResolvedTopology } from './types.js';

/** Splits a formatted path back into segments (for locating it in the source). */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
  const re = /([A-Za-z_$][A-Za-z0-9_$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\./gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < path.length && (m = re.exec(path))) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

/** Checks topology JSON text; problems carry positions. */
export function analyzeTopologyText(text: string): Analysis {
  const parsed = parseJsonSource(text);
  if (!parsed.ok) return { topology: null, problems: parsed.problems };
  const analysis = analyzeTopology(parsed.source.value);
  const problems: Problem[] = analysis.problems.map((p) => {
    const at = parsed.source.locate(parsePath(p.path));
    return at ? { ...p, at } : p;
  });
  // In file order, as one reads the file (the sort is stable: same place, same order as found).
  // Line, then column (not one number: a minified file has columns in the millions).
  problems.sort((x, y) => (x.at?.line ?? 0) - (y.at?.line ?? 0) || (x.at?.column ?? 0) - (y.at?.column ?? 0));
  return { topology: analysis.topology, problems };
}

export interface TopologyFileOptions {
  /** Refuse files larger than this (default DEFAULT_MAX_TOPOLOGY_BYTES, 16 MiB). */
  maxBytes?: number;
  /** The command-line option that raises the limit, named in the error. */
  maxBytesOption?: string;
}

/** An analysis of a file; `readError` is set (and the only problem) when it could not be read. */
export interface FileAnalysis extends Analysis {
  readError?: InputFileError;
  /** Size of the file read, in bytes (absent when it could not be read). */
  bytes?: number;
}

/** Reads and checks a topology file. An unreadable or too large file is one problem, not an exception. */
export async function analyzeTopologyFile(file: string, options: TopologyFileOptions = {}): Promise<FileAnalysis> {
  let text: string;
  try {
    text = await readInputFile(file, {
      maxBytes: options.maxBytes ?? DEFAULT_MAX_TOPOLOGY_BYTES,
      ...(options.maxBytesOption ? { option: options.maxBytesOption } : {}),
    });
  } catch (e) {
    if (!(e instanceof InputFileError)) throw e;
    return { topology: null, problems: [{ path: '', message: e.message }], readError: e };
  }
  return { ...analyzeTopologyText(text), bytes: Buffer.byteLength(text, 'utf8') };
}

/** Resolves a parsed topology file (a JSON value); throws TopologyError listing every problem. */
export function resolveTopology(input: unknown): ResolvedTopology {
  const { topology, problems } = analyzeTopology(input);
  if (!topology) throw new TopologyError(problems);
  return topology;
}

/** Reads, checks and resolves a topology file; throws InputFileError, or TopologyError listing every problem. */
export async function loadTopology(file: string, options: TopologyFileOptions = {}): Promise<ResolvedTopology> {
  const { topology, problems, readError } = await analyzeTopologyFile(file, options);
  if (readError) throw readError;
  if (!topology) throw new TopologyError(problems, file);
  return topology;
}
