/**
 * Symmetric messages (spec 7.5): HELLO, ERROR, ECHO_REQUEST/REPLY, EXPERIMENTER.
 * HELLO and ERROR keep the header's `version`: they are the two messages read from a peer of
 * any version (version negotiation, and the error a peer sends when it rejects ours).
 */

/**
 * OFPHET_VERSIONBITMAP: bit `v` of the bitmaps set = the sender supports wire version `v`.
 * `versions` lists the set bits in ascending order. `words` is present only when the element
 * carried more 32-bit bitmap words than the highest version needs (trailing zero words), so
 * that such an element still re-encodes byte for byte.
 */
export interface HelloVersionBitmap {
  type: 'VERSIONBITMAP';
  versions: number[];
  words?: number;
}

/**
 * A hello element of a type OpenFlow 1.3 does not define (spec: "must be ignored"), kept
 * opaque. `elemType` is its type code, `data` the bytes after the 4-byte element header up to
 * its length (the zero padding to 8 bytes is not included).
 */
export interface HelloUnknownElement {
  type: 'UNKNOWN';
  elemType: number;
  data: Buffer;
}

export type HelloElement = HelloVersionBitmap | HelloUnknownElement;

export interface Hello {
  type: 'HELLO';
  xid: number;
  /** Header version: the highest version the sender supports. */
  version: number;
  /** Hello elements (OpenFlow 1.3.1+ peers send a VERSIONBITMAP; older ones send none). */
  elements: HelloElement[];
  /**
   * Body of a HELLO from a peer older than OpenFlow 1.3 (wire version < 4), which defines no
   * elements and must be ignored; present only when that body is non-empty.
   */
  data?: Buffer;
}

/** ofp_error_msg: `errorType`/`code` are numbers since the sets differ between versions
 * (names: `errorTypeName`, `errorCodeName`). `data` is usually the start of the failed request,
 * or ASCII text for HELLO_FAILED. */
export interface StandardErrorMessage {
  type: 'ERROR';
  xid: number;
  version: number;
  errorType: number;
  code: number;
  data: Buffer;
}

/** ofp_error_experimenter_msg (type OFPET_EXPERIMENTER = 0xffff, OpenFlow 1.2 and later). */
export interface ExperimenterErrorMessage {
  type: 'ERROR';
  xid: number;
  version: number;
  errorType: 0xffff;
  expType: number;
  experimenter: number;
  data: Buffer;
}

export type ErrorMessage = StandardErrorMessage | ExperimenterErrorMessage;

export interface EchoRequest {
  type: 'ECHO_REQUEST';
  xid: number;
  data: Buffer;
}

export interface EchoReply {
  type: 'ECHO_REPLY';
  xid: number;
  data: Buffer;
}

/** ofp_experimenter_header: a vendor message; the payload is opaque. */
export interface ExperimenterMessage {
  type: 'EXPERIMENTER';
  xid: number;
  experimenter: number;
  expType: number;
  data: Buffer;
}
