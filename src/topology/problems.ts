/**
 * Problems found in a topology: a JSON path and a message, optionally with the place in the
 * source text. Every check reports through this type so the CLI prints schema, semantic and
 * syntax problems alike, one a line.
 */

export type PathSegment = string | number;

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units (what editors show for ASCII text). */
  column: number;
}

export interface Problem {
  /** JSON path in the topology file, e.g. `links[3].host`; empty for the whole file. */
  path: string;
  message: string;
  /** Where in the source text, when known. */
  at?: SourcePosition;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['links', 3, 'host']` -> `links[3].host`; odd keys are quoted: `nodes["a b"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function problem(path: readonly PathSegment[], message: string): Problem {
  return { path: formatPath(path), message };
}

/** `path: message`, prefixed with `file:line:column: ` when those are known. */
export function formatProblem(p: Problem, file?: string): string {
  const body = p.path === '' ? p.message : `${p.path}: ${p.message}`;
  if (p.at) return `${file ?? '<input>'}:${p.at.line}:${p.at.column}: ${body}`;
  return file ? `${file}: ${body}` : body;
}

/** Thrown by the resolving entry points; carries every problem found. */
/** Problems spelled out in a TopologyError's message: a file with 60,000 of them must not make a message of megabytes. */
export const MESSAGE_PROBLEMS = 100;

export class TopologyError extends Error {
  constructor(
    readonly problems: readonly Problem[],
    readonly file?: string,
  ) {
    super(
      problems.length === 1
        ? `invalid topology: ${formatProblem(problems[0]!, file)}`
        : `invalid topology (${problems.length} problems):\n${problems.slice(0, MESSAGE_PROBLEMS).map((p) => '  ' + formatProblem(p, file)).join('\n')}`
          + (problems.length > MESSAGE_PROBLEMS ? `\n  ... and ${problems.length - MESSAGE_PROBLEMS} more (every one in .problems)` : ''),
    );
    this.name = 'TopologyError';
  }
}
