import type { JsonValue as Json } from '../json/index.js';

/**
 * Stable error codes. Callers branch on `err.code`, never on the message text.
 */
export type OvsdbErrorCode =
  /** A JSON text from the peer exceeded `maxMessageSize`; the connection is closed. */
  | 'OVSDB_ERR_MESSAGE_TOO_LARGE'
  /** The peer sent bytes that are not valid JSON (or not UTF-8); the connection is closed. */
  | 'OVSDB_ERR_BAD_JSON'
  /** Valid JSON that is not a valid JSON-RPC/OVSDB message or reply shape. */
  | 'OVSDB_ERR_PROTOCOL'
  /** A value could not be converted to or from its OVSDB wire form. */
  | 'OVSDB_ERR_BAD_VALUE'
  /** A database schema could not be parsed. */
  | 'OVSDB_ERR_BAD_SCHEMA'
  /** The server answered a request with a JSON-RPC error. */
  | 'OVSDB_ERR_RPC'
  /** An operation of a transaction, or its commit, failed. */
  | 'OVSDB_ERR_TRANSACTION'
  /** No reply within the request's timeout. */
  | 'OVSDB_ERR_TIMEOUT'
  /** The connection dropped while the request was waiting for its reply. */
  | 'OVSDB_ERR_CONNECTION_CLOSED'
  /** The client was closed by its owner. */
  | 'OVSDB_ERR_CLIENT_CLOSED'
  /** The request was made while disconnected and the client will not reconnect. */
  | 'OVSDB_ERR_NOT_CONNECTED'
  /** Opening the transport failed. */
  | 'OVSDB_ERR_CONNECT'
  /** The peer did not answer our echo (liveness probe) in time. */
  | 'OVSDB_ERR_ECHO_TIMEOUT'
  /** An endpoint string could not be parsed. */
  | 'OVSDB_ERR_BAD_ENDPOINT';

/** Base class of every error this module raises. */
export class OvsdbError extends Error {
  override name = 'OvsdbError';
  constructor(
    readonly code: OvsdbErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Framing and message-shape problems: the stream cannot be trusted after these. */
export class OvsdbProtocolError extends OvsdbError {
  override name = 'OvsdbProtocolError';
  constructor(
    code: 'OVSDB_ERR_MESSAGE_TOO_LARGE' | 'OVSDB_ERR_BAD_JSON' | 'OVSDB_ERR_PROTOCOL',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A value, row or schema that does not fit its OVSDB type. */
export class OvsdbValueError extends OvsdbError {
  override name = 'OvsdbValueError';
  constructor(message: string, code: 'OVSDB_ERR_BAD_VALUE' | 'OVSDB_ERR_BAD_SCHEMA' = 'OVSDB_ERR_BAD_VALUE') {
    super(code, message);
  }
}

/**
 * The server's <error> object (RFC 7047 section 3.1): `error` is the short machine-readable
 * string ("constraint violation", "unknown database", ...), `details` the optional prose.
 */
export interface ServerError {
  error: string;
  details?: string;
  /** ovsdb-server extension: the JSON that failed to parse, for "syntax error" replies. */
  syntax?: string;
}

/** Normalises whatever the server put in an error slot into a ServerError. */
export function toServerError(json: Json): ServerError {
  if (typeof json === 'string') return { error: json };
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const out: ServerError = {
      error: typeof json.error === 'string' ? json.error : JSON.stringify(json.error ?? null),
    };
    if (typeof json.details === 'string') out.details = json.details;
    if (typeof json.syntax === 'string') out.syntax = json.syntax;
    return out;
  }
  return { error: String(json) };
}

function describe(e: ServerError): string {
  return e.details ? `${e.error}: ${e.details}` : e.error;
}

/** The server answered a JSON-RPC request with a non-null "error". */
export class OvsdbRpcError extends OvsdbError {
  override name = 'OvsdbRpcError';
  readonly error: string;
  readonly details: string | undefined;
  constructor(
    readonly method: string,
    readonly raw: Json,
  ) {
    const e = toServerError(raw);
    super('OVSDB_ERR_RPC', `"${method}" failed: ${describe(e)}`);
    this.error = e.error;
    this.details = e.details;
  }
}

/**
 * A transaction failed. `index` is the position of the failing operation in the array given
 * to transact (0-based); when every operation succeeded but the commit did not (RFC 7047: the
 * extra trailing error, e.g. a constraint or referential integrity violation), `index` equals
 * the number of operations and `op` is 'commit'. `results` holds the results of the
 * operations that ran before the failure (their effects were rolled back).
 */
export class OvsdbTransactionError extends OvsdbError {
  override name = 'OvsdbTransactionError';
  readonly error: string;
  readonly details: string | undefined;
  readonly syntax: string | undefined;
  constructor(
    readonly database: string,
    readonly index: number,
    readonly op: string,
    readonly table: string | undefined,
    readonly serverError: ServerError,
    readonly results: readonly unknown[],
  ) {
    const where =
      op === 'commit'
        ? `at commit (after all ${index} operations succeeded)`
        : `at operation ${index} (${op}${table ? ` on table ${table}` : ''})`;
    super('OVSDB_ERR_TRANSACTION', `transaction on ${database} failed ${where}: ${describe(serverError)}`);
    this.error = serverError.error;
    this.details = serverError.details;
    this.syntax = serverError.syntax;
  }
}

/** No reply arrived within the request's timeout. The server may still act on the request. */
export class OvsdbTimeoutError extends OvsdbError {
  override name = 'OvsdbTimeoutError';
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
    detail?: string,
  ) {
    super('OVSDB_ERR_TIMEOUT', `"${method}" got no reply within ${timeoutMs} ms${detail ? ` (${detail})` : ''}`);
  }
}

/** Connection-level failures: dropped, closed by us, never established, or found dead. */
export class OvsdbConnectionError extends OvsdbError {
  override name = 'OvsdbConnectionError';
  constructor(
    code:
      | 'OVSDB_ERR_CONNECTION_CLOSED'
      | 'OVSDB_ERR_CLIENT_CLOSED'
      | 'OVSDB_ERR_NOT_CONNECTED'
      | 'OVSDB_ERR_CONNECT'
      | 'OVSDB_ERR_ECHO_TIMEOUT'
      | 'OVSDB_ERR_BAD_ENDPOINT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
