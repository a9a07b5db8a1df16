/**
 * Reads a topology file's JSON with the project's parser (src/json), keeping where every value
 * sits so problems can name a line and column, and reporting duplicate member names (JSON.parse
 * silently keeps the last one, which would hide a node defined twice). Syntax errors are worded
 * here for people editing a file by hand.
 */
import { JsonSyntaxError, locateOffset, parseJsonDocument } from '../json/index.js';
import { formatPath, type PathSegment, type Problem, type SourcePosition } from './problems.js';

export interface JsonSource {
  value: unknown;
  /** Position of the value at `path` (for object members: of the member's key); falls back to the nearest ancestor. */
  locate(path: readonly PathSegment[]): SourcePosition | undefined;
}

export type JsonParseResult = { ok: true; source: JsonSource } | { ok: false; problems: Problem[] };

/** A topology is a few levels deep: the top object and at most this many levels below it. */
const MAX_LEVELS_BELOW_TOP = 64;

export function parseJsonSource(text: string): JsonParseResult {
  let doc;
  try {
    doc = parseJsonDocument(text, {
      maxDepth: MAX_LEVELS_BELOW_TOP + 1,
      duplicateKeys: 'first',
      // The resolved topology is plain JSON data (no bigint); no field of the format is that large.
      largeIntegers: 'double',
      allowByteOrderMark: true,
    });
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    const [message, at] = describeSyntaxError(text, e);
    const { line, column } = locateOffset(text, at);
    return { ok: false, problems: [{ path: '', message: `invalid JSON: ${message}`, at: { line, column } }] };
  }
  if (doc.duplicates.length > 0) {
    return {
      ok: false,
      problems: doc.duplicates.map((d) => ({
        path: formatPath(d.path),
        message: `duplicate key ${JSON.stringify(d.key)} (first defined at line ${d.first.line}, column ${d.first.column})`,
        at: { line: d.at.line, column: d.at.column },
      })),
    };
  }
  const positions = doc.positions;
  const locate = (path: readonly PathSegment[]): SourcePosition => {
    const place = positions.find(path);
    const at = place.key ?? place.value;
    return { line: at.line, column: at.column };
  };
  return { ok: true, source: { value: doc.value, locate } };
}

function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'end of input';
  const c = text[i]!;
  if (c === '\n' || c === '\r') return 'end of line';
  const code = c.charCodeAt(0);
  if (code < 0x20) return `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}`;
  return `'${c}'`;
}

/** The message for a person editing the file, and the offset it is about. */
function describeSyntaxError(text: string, e: JsonSyntaxError): [string, number] {
  const found = describeChar(text, e.offset);
  const d = e.details;
  switch (e.code) {
    case 'JSON_ERR_EMPTY':
      return ['empty file; expected a JSON object', e.offset];
    case 'JSON_ERR_EXPECTED_VALUE':
      if (text[e.offset] === "'") return ['single-quoted string; JSON strings use double quotes', e.offset];
      return [`unexpected ${found}; expected a JSON value`, e.offset];
    case 'JSON_ERR_TRAILING_COMMA':
      return [`trailing comma before '${text[e.offset]}'`, e.offset];
    case 'JSON_ERR_EXPECTED_KEY':
      return [`unexpected ${found}; expected a "quoted" member name`, e.offset];
    case 'JSON_ERR_EXPECTED_COLON':
      return [`unexpected ${found}; expected ':' after member name ${JSON.stringify(d.key)}`, e.offset];
    case 'JSON_ERR_EXPECTED_COMMA':
      return d.container === 'array'
        ? [`unexpected ${found}; expected ',' or ']' after array element ${d.index}`, e.offset]
        : [`unexpected ${found}; expected ',' or '}' after the value of ${JSON.stringify(d.key)}`, e.offset];
    case 'JSON_ERR_UNTERMINATED_STRING':
      return ['unterminated string', e.offset];
    case 'JSON_ERR_CONTROL_CHARACTER':
      return [`${found} inside a string (escape it, or close the string)`, e.offset];
    case 'JSON_ERR_BAD_ESCAPE':
      return text[e.offset + 1] === 'u'
        ? ['bad \\u escape (expected 4 hex digits)', e.offset]
        : [`bad escape \\${text[e.offset + 1]} in string`, e.offset];
    case 'JSON_ERR_BAD_NUMBER': {
      // The longest well-formed number at the start, plus the character that spoils it.
      const start = d.tokenStart ?? e.offset;
      const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(start, start + 400));
      if (!m) return [`unexpected ${describeChar(text, start)}; expected a JSON value`, start];
      return [`malformed number ${JSON.stringify(text.slice(start, start + m[0].length + 1))}`, start];
    }
    case 'JSON_ERR_TRAILING_DATA':
      return [`unexpected ${found} after the end of the JSON value`, e.offset];
    case 'JSON_ERR_TOO_DEEP':
      return [`nesting deeper than ${MAX_LEVELS_BELOW_TOP} levels`, e.offset];
    default:
      return [e.reason, e.offset];
  }
}
