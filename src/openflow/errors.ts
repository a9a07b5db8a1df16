import { ErrorCodeNames, ErrorType } from './constants.js';

const typeNames: Record<number, string> = Object.fromEntries(
  Object.entries(ErrorType).map(([name, code]) => [code, name]),
);

/**
 * The one error every OpenFlow decode/encode/validation failure raises. It carries the
 * (type, code) pair a controller or switch would answer with in an OFPT_ERROR, and the byte
 * offset (from the start of the message) where the problem was found.
 */
export class OpenFlowError extends Error {
  override readonly name = 'OpenFlowError';
  constructor(
    readonly type: number,
    readonly code: number,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${errorTypeName(type)}/${errorCodeName(type, code)} at offset ${offset}: ${detail}`);
  }

  get typeName(): string {
    return errorTypeName(this.type);
  }

  get codeName(): string {
    return errorCodeName(this.type, this.code);
  }
}

export function errorTypeName(type: number): string {
  return typeNames[type] ?? `TYPE_${type}`;
}

export function errorCodeName(type: number, code: number): string {
  return ErrorCodeNames[type]?.[code] ?? `CODE_${code}`;
}

/** Shorthand used by decoders: `throw ofpError('BAD_MATCH', 'BAD_FIELD', at, '...')`. */
export function ofpError<T extends keyof typeof ErrorType>(
  type: T,
  code: string,
  offset: number,
  detail: string,
): OpenFlowError {
  const typeCode = ErrorType[type];
  const codeNum = (ErrorCodeNames[typeCode] ?? []).indexOf(code);
  if (codeNum < 0) throw new Error(`internal: unknown OpenFlow error code ${type}/${code}`);
  return new OpenFlowError(typeCode, codeNum, offset, detail);
}
