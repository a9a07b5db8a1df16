/**
 * What every command that reads a topology file shares: the options bounding the input
 * (`--max-topology-bytes`, `--max-problems`) and the report of an unreadable or invalid file,
 * which lists the first problems and counts the rest (a file with 100,000 problems must not
 * flood a terminal, nor exhaust memory formatting them).
 */
import { DEFAULT_MAX_TOPOLOGY_BYTES, parseByteCount } from '../../src/input/read-file.js';
import { analyzeTopologyFile, type FileAnalysis } from '../../src/topology/load.js';
import { formatProblem, type Problem } from '../../src/topology/problems.js';
import { UsageError, type CommandIO } from './command.js';

export const DEFAULT_MAX_PROBLEMS = 100;

/** parseArgs option definitions; spread into a command's options. */
export const TOPOLOGY_INPUT_OPTIONS = {
  'max-topology-bytes': { type: 'string' },
  'max-problems': { type: 'string' },
} as const;

/** Help lines for those options (column layout of the commands' help). */
export function topologyInputHelp(column: number): string {
  const pad = (s: string) => `  ${s.padEnd(column - 2)}`;
  return [
    `${pad('--max-topology-bytes N')}refuse topology files larger than N bytes (suffix K, M, G allowed;`,
    `${pad('')}default ${DEFAULT_MAX_TOPOLOGY_BYTES / 1024 / 1024}M)`,
    `${pad('--max-problems N')}list at most N problems of an invalid file, then count the rest`,
    `${pad('')}(default ${DEFAULT_MAX_PROBLEMS}; 0 lists none)`,
  ].join('\n');
}

export interface TopologyInputLimits {
  maxBytes: number;
  maxProblems: number;
}

export function topologyInputLimits(values: { 'max-topology-bytes'?: string | undefined; 'max-problems'?: string | undefined }): TopologyInputLimits {
  let maxBytes = DEFAULT_MAX_TOPOLOGY_BYTES;
  const bytes = values['max-topology-bytes'];
  if (bytes !== undefined) {
    try {
      maxBytes = parseByteCount(bytes, '--max-topology-bytes');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  let maxProblems = DEFAULT_MAX_PROBLEMS;
  const n = values['max-problems'];
  if (n !== undefined) {
    if (!/^\d+$/.test(n)) throw new UsageError(`--max-problems: expected a whole number >= 0, got "${n}"`);
    maxProblems = Number(n);
  }
  return { maxBytes, maxProblems };
}

export function readTopology(file: string, limits: TopologyInputLimits): Promise<FileAnalysis> {
  return analyzeTopologyFile(file, { maxBytes: limits.maxBytes, maxBytesOption: '--max-topology-bytes' });
}

/** The first `max` problems, one a line (each prefixed by `indent`), then "... and K more problems". */
export function formatProblemList(problems: readonly Problem[], file: string, max: number, indent = ''): string {
  const lines: string[] = [];
  const shown = Math.min(max, problems.length);
  for (let i = 0; i < shown; i++) lines.push(indent + formatProblem(problems[i]!, file));
  const rest = problems.length - shown;
  if (rest > 0) lines.push(`${indent}... and ${rest} more problem${rest === 1 ? '' : 's'} (--max-problems N lists more)`);
  return lines.length ? lines.join('\n') + '\n' : '';
}

/**
 * Reports a file that is not a valid topology on stderr: one line for an unreadable file,
 * otherwise a heading and the problem list.
 */
export function reportInvalidTopology(io: CommandIO, prefix: string, file: string, analysis: FileAnalysis, maxProblems: number): void {
  if (analysis.readError) {
    io.err(`${prefix}: ${analysis.readError.message}\n`);
    return;
  }
  const n = analysis.problems.length;
  io.err(`${prefix}: the topology ${file} is invalid (${n} problem${n === 1 ? '' : 's'}):\n`);
  io.err(formatProblemList(analysis.problems, file, maxProblems, '  '));
}
