/**
 * The OVSDB view of the project's JSON module (src/json): the `Json` type, and parse/stringify
 * with OVSDB errors. Integers beyond ±(2^53 - 1) are `bigint`, so 64-bit OVSDB integers survive
 * a round trip.
 */
import {
  DEFAULT_MAX_DEPTH, JsonSyntaxError, JsonValueError, parseJson, stringifyJson as writeJson, isJsonObject,
  type JsonObject, type JsonValue,
} from '../json/index.js';
import { OvsdbProtocolError, OvsdbValueError } from './errors.js';

export type Json = JsonValue;
export type { JsonObject };
export { isJsonObject, DEFAULT_MAX_DEPTH };

/**
 * Parses one JSON text. Integer literals beyond ±(2^53 - 1) become `bigint`; everything else
 * is what JSON.parse would give (a repeated member name keeps the last value, as there).
 * Throws OvsdbProtocolError(OVSDB_ERR_BAD_JSON) naming where the problem is.
 */
export function parseJsonLossless(text: string, maxDepth = DEFAULT_MAX_DEPTH): Json {
  try {
    return parseJson(text, { maxDepth, duplicateKeys: 'last' });
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw new OvsdbProtocolError('OVSDB_ERR_BAD_JSON', `invalid JSON at character ${e.offset} (line ${e.line}:${e.column}): ${e.reason}`, { cause: e });
  }
}

/**
 * Serialises a Json value; `bigint` is written as its decimal digits. Object members that are
 * undefined are left out (as JSON.stringify does); non-finite numbers, undefined array items
 * and non-plain objects are refused (OvsdbValueError) rather than sent as null.
 */
export function stringifyJson(v: Json): string {
  try {
    return writeJson(v, undefined, { undefinedMembers: 'omit' });
  } catch (e) {
    if (!(e instanceof JsonValueError)) throw e;
    throw new OvsdbValueError(`cannot send as JSON: ${e.message}`);
  }
}
