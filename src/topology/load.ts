/**
 * Entry points from text and files: parse (with positions), check, resolve. Problems carry the
 * line and column of the value they are about.
 */
import { readFile } from 'node:fs/promises';
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
  const key = (p: Problem) => (p.at ? p.at.line * 1e6 + p.at.column : 0);
  problems.sort((x, y) => key(x) - key(y));
  return { topology: analysis.topology, problems };
}

/** Reads and checks a topology file. An unreadable file is one problem, not an exception. */
export async function analyzeTopologyFile(file: string): Promise<Analysis> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EISDIR' ? 'is a directory' : err.code === 'EACCES' ? 'permission denied' : err.message;
    return { topology: null, problems: [{ path: '', message: `cannot read file: ${why}` }] };
  }
  return analyzeTopologyText(text);
}

/** Resolves a parsed topology file (a JSON value); throws TopologyError listing every problem. */
export function resolveTopology(input: unknown): ResolvedTopology {
  const { topology, problems } = analyzeTopology(input);
  if (!topology) throw new TopologyError(problems);
  return topology;
}

/** Reads, checks and resolves a topology file; throws TopologyError listing every problem. */
export async function loadTopology(file: string): Promise<ResolvedTopology> {
  const { topology, problems } = await analyzeTopologyFile(file);
  if (!topology) throw new TopologyError(problems, file);
  return topology;
}
