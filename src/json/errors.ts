/**
 * The errors of the JSON module. Parse errors carry a stable `code` and the place of the
 * problem (0-based offset, 1-based line and column), plus the structured details a caller needs
 * to word the problem its own way (the topology reader does, for people editing a file).
 */

export type JsonErrorCode =
  /** The text holds no value at all (only whitespace). */
  | 'JSON_ERR_EMPTY'
  /** Something that cannot start a value (a bad literal, a quote of the wrong kind, end of input). */
  | 'JSON_ERR_EXPECTED_VALUE'
  /** A ',' directly before '}' or ']'. */
  | 'JSON_ERR_TRAILING_COMMA'
  /** An object member that does not start with a double-quoted name. */
  | 'JSON_ERR_EXPECTED_KEY'
  /** A member name not followed by ':'. */
  | 'JSON_ERR_EXPECTED_COLON'
  /** A member or element not followed by ',' or the closing bracket. */
  | 'JSON_ERR_EXPECTED_COMMA'
  | 'JSON_ERR_UNTERMINATED_STRING'
  /** A raw control character (U+0000..U+001F) inside a string. */
  | 'JSON_ERR_CONTROL_CHARACTER'
  /** An unknown escape, or \u not followed by 4 hex digits. */
  | 'JSON_ERR_BAD_ESCAPE'
  /** Leading zeros, or a sign, '.' or exponent without digits. */
  | 'JSON_ERR_BAD_NUMBER'
  /** Anything but whitespace after the value. */
  | 'JSON_ERR_TRAILING_DATA'
  /** Two values of a sequence that run into each other (`true1`, `1-2`). */
  | 'JSON_ERR_MISSING_SEPARATOR'
  /** The same member name twice in one object (with `duplicateKeys: 'error'`). */
  | 'JSON_ERR_DUPLICATE_KEY'
  /** Arrays/objects nested deeper than `maxDepth`. */
  | 'JSON_ERR_TOO_DEEP'
  /** A text longer than `maxLength`. */
  | 'JSON_ERR_TOO_LARGE';

/** Details of a JsonSyntaxError, by code (all optional: only the relevant ones are set). */
export interface JsonErrorDetails {
  /** The member name concerned (EXPECTED_COLON, DUPLICATE_KEY; EXPECTED_COMMA in an object: the last member). */
  key?: string;
  /** EXPECTED_COMMA in an array: index of the last element read. */
  index?: number;
  /** Whether the innermost open container is an object or an array (EXPECTED_COMMA, TRAILING_COMMA). */
  container?: 'object' | 'array';
  /** Where the malformed token starts (BAD_NUMBER: the number; string errors: the opening quote). */
  tokenStart?: number;
  /** DUPLICATE_KEY: offset of the first definition. */
  firstOffset?: number;
  /** TOO_DEEP, TOO_LARGE: the limit that was exceeded. */
  limit?: number;
}

/** A text that is not (acceptable) JSON, located by 1-based line and column and 0-based offset. */
export class JsonSyntaxError extends SyntaxError {
  override readonly name = 'JsonSyntaxError';
  constructor(
    readonly code: JsonErrorCode,
    readonly reason: string,
    readonly offset: number,
    readonly line: number,
    readonly column: number,
    readonly details: JsonErrorDetails = {},
  ) {
    super(`JSON syntax error at line ${line}:${column}: ${reason}`);
  }
}

/**
 * A value that cannot be written as JSON (undefined, NaN, a function, a class instance, a
 * cycle, too deep). `path` locates it: `$` is the value given, `$.a[1]` inside it.
 */
export class JsonValueError extends TypeError {
  override readonly name = 'JsonValueError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}
